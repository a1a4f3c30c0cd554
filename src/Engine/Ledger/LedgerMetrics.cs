using System.Diagnostics.Metrics;

namespace Engine.Ledger;

/// <summary>Ledger instruments (meter "Engine.Ledger"). Tags are low-cardinality (a result or reason; the height gauge the channel), never a peer.</summary>
internal static class LedgerMetrics
{
    public const string MeterName = "Engine.Ledger";

    private static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> Committed = Meter.CreateCounter<long>("engine.ledger.blocks.committed", "{block}", "Blocks committed, in sequence.");
    public static readonly Counter<long> Offered = Meter.CreateCounter<long>("engine.ledger.blocks.offered", "{block}",
        "Blocks offered to a ledger (tag: result = committed, buffered, duplicate, too_far_ahead, too_large, wrong_channel, malformed, invalid_config).");
    public static readonly Gauge<long> Height = Meter.CreateGauge<long>("engine.ledger.height", "{block}", "Ledger height after the last commit (tag: channel).");

    public static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}
