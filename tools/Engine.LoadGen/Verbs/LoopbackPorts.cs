using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// Loopback ports handed out to peers that must know their endpoint before they bind it (anchors, external endpoints,
/// peer processes started later). Ports come from below the kernel's ephemeral range: a port the OS picked and this
/// process released is back in the pool the kernel draws source ports from, and a connection opened in between (any
/// peer's, in any process) can take it, so the peer started on it later fails with "address already in use".
/// </summary>
internal static class LoopbackPorts
{
    private const int RangeSize = 12_000;
    private static readonly HashSet<int> HandedOut = [];
    private static readonly int EphemeralStart = EphemeralRangeStart();
    private static readonly int RangeStart = Math.Max(1024, EphemeralStart - RangeSize);

    // Each process scans from its own random point, so a load generator and the peers or tests around it rarely probe
    // the same ports at once.
    private static int _next = Random.Shared.Next(RangeStart, EphemeralStart);

    /// <summary>A loopback port free for both TCP and UDP right now, below the ephemeral range, and not handed out before by this process.</summary>
    /// <exception cref="InvalidOperationException">Every port of the range is taken or already handed out.</exception>
    public static ushort Free() =>
        TryFree(out ushort port)
            ? port
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"No loopback port in {RangeStart}-{EphemeralStart - 1} (below the ephemeral range) is free for both TCP and UDP."));

    /// <summary>As <see cref="Free"/>, false when the range is used up.</summary>
    public static bool TryFree(out ushort port)
    {
        lock (HandedOut)
        {
            for (int tried = 0; tried < EphemeralStart - RangeStart; tried++)
            {
                int candidate = _next;
                _next = candidate + 1 >= EphemeralStart ? RangeStart : candidate + 1;
                if (HandedOut.Contains(candidate) || !IsFree(candidate))
                {
                    continue;
                }

                HandedOut.Add(candidate);
                port = (ushort)candidate;
                return true;
            }
        }

        port = 0;
        return false;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Where the kernel's ephemeral port range starts (Linux: ip_local_port_range).</summary>
    private static int EphemeralRangeStart()
    {
        try
        {
            string text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
            return int.Parse(text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32_768; // Linux's default
        }
    }
}
