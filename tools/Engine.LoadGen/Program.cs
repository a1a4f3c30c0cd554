using System.CommandLine;

namespace Engine.LoadGen;

internal static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("Engine load generator: builds networks of Engine peers on loopback, drives them, and measures.");
        return root.Parse(args).Invoke();
    }
}
