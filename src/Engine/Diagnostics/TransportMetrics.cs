using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Engine.Diagnostics;

/// <summary>
/// The transport's instruments (meter "Engine.Transport"). Tags are low-cardinality (a reason or kind), never a peer.
/// </summary>
internal static class TransportMetrics
{
    public const string MeterName = "Engine.Transport";

    private static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> DatagramsSent = Meter.CreateCounter<long>("engine.transport.datagrams.sent", "{datagram}", "Datagrams handed to the socket.");
    public static readonly Counter<long> DatagramsReceived = Meter.CreateCounter<long>("engine.transport.datagrams.received", "{datagram}", "Valid datagrams delivered to the layer above.");
    public static readonly Counter<long> DatagramsDropped = Meter.CreateCounter<long>("engine.transport.datagrams.dropped", "{datagram}", "Datagrams dropped (tag: reason).");
    public static readonly Counter<long> DatagramBytesSent = Meter.CreateCounter<long>("engine.transport.datagrams.sent.bytes", "By", "Datagram bytes sent, headers included.");
    public static readonly Counter<long> DatagramBytesReceived = Meter.CreateCounter<long>("engine.transport.datagrams.received.bytes", "By", "Datagram bytes received, headers included.");

    public static readonly Counter<long> FramesSent = Meter.CreateCounter<long>("engine.transport.frames.sent", "{frame}", "Frames queued on a connection.");
    public static readonly Counter<long> FramesReceived = Meter.CreateCounter<long>("engine.transport.frames.received", "{frame}", "Frames delivered to the layer above.");
    public static readonly Counter<long> FramesDropped = Meter.CreateCounter<long>("engine.transport.frames.dropped", "{frame}", "Frames dropped (tag: reason).");
    public static readonly Counter<long> FrameBytesSent = Meter.CreateCounter<long>("engine.transport.frames.sent.bytes", "By", "Stream bytes written, headers included.");
    public static readonly Counter<long> FrameBytesReceived = Meter.CreateCounter<long>("engine.transport.frames.received.bytes", "By", "Stream bytes read, headers included.");
    public static readonly Counter<long> FramesCompressed = Meter.CreateCounter<long>("engine.transport.frames.compressed", "{frame}", "Frames sent LZ4-compressed.");

    public static readonly Counter<long> ConnectionsOpened = Meter.CreateCounter<long>("engine.transport.connections.opened", "{connection}", "Connections established (tag: direction).");
    public static readonly Counter<long> ConnectionsClosed = Meter.CreateCounter<long>("engine.transport.connections.closed", "{connection}", "Connections closed (tag: reason).");
    public static readonly Counter<long> ConnectionsRefused = Meter.CreateCounter<long>("engine.transport.connections.refused", "{connection}", "Inbound connections refused (tag: reason).");
    public static readonly Counter<long> ConnectFailures = Meter.CreateCounter<long>("engine.transport.connect.failures", "{attempt}", "Outbound connection attempts that failed.");

    public static KeyValuePair<string, object?> Reason(string reason) => new("reason", reason);

    public static TagList Direction(bool inbound) => new() { { "direction", inbound ? "inbound" : "outbound" } };
}
