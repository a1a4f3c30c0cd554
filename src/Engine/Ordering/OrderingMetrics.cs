using System.Diagnostics.Metrics;

namespace Engine.Ordering;

/// <summary>Ordering instruments (meter "Engine.Ordering"). Tags are low-cardinality, never a peer.</summary>
internal static class OrderingMetrics
{
    public const string MeterName = "Engine.Ordering";

    private static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> BlocksCut = Meter.CreateCounter<long>("engine.ordering.blocks.cut", "{block}", "Blocks cut by the orderer (tag: kind = ordinary, config).");
    public static readonly Counter<long> Deliveries = Meter.CreateCounter<long>("engine.ordering.deliveries", "{block}", "Blocks sent on delivery streams (one per stream).");
    public static readonly Counter<long> SendFailures = Meter.CreateCounter<long>("engine.ordering.send.failures", "{frame}", "Block sends the transport refused; the stream retries from that block (tag: status).");
    public static readonly UpDownCounter<long> Streams = Meter.CreateUpDownCounter<long>("engine.ordering.streams", "{stream}", "Delivery streams open at the orderer.");
    public static readonly Counter<long> StreamEvents = Meter.CreateCounter<long>("engine.ordering.stream.events", "{event}",
        "Delivery stream events (tag: event = opened, closed, lost, refused; at the peer: client_opened, client_closed, client_retry).");
    public static readonly Counter<long> BlocksReceived = Meter.CreateCounter<long>("engine.ordering.client.blocks", "{block}", "Blocks a delivery client received (tag: result = delivered, ignored).");

    public static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}
