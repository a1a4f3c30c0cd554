using System.Net;
using System.Net.Sockets;

namespace Engine.LoadGen.Verbs;

/// <summary>Loopback ports handed out to peers that must know their endpoint before they start (anchors, external endpoints).</summary>
internal static class LoopbackPorts
{
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>A loopback port free for both TCP and UDP right now, and not handed out before by this process.</summary>
    public static ushort Free()
    {
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)tcp.LocalEndPoint!).Port;
            lock (HandedOut)
            {
                if (!HandedOut.Add(port))
                {
                    continue;
                }
            }

            try
            {
                using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return (ushort)port;
            }
            catch (SocketException)
            {
                // taken for UDP: try another
            }
        }

        throw new InvalidOperationException("No loopback port free for both TCP and UDP.");
    }
}
