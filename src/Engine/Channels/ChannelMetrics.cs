using System.Diagnostics.Metrics;

namespace Engine.Channels;

/// <summary>Channel-layer instruments (meter "Engine.Channels"): state transfer. Tags are low-cardinality (a kind or result), never a peer.</summary>
internal static class ChannelMetrics
{
    public const string MeterName = "Engine.Channels";

    private static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> StateRequestsSent = Meter.CreateCounter<long>("engine.channels.state.requests.sent", "{request}",
        "State requests sent (tag: kind = catch_up for the anti-entropy loop, gap for a gap below a block that arrived).");

    public static readonly Counter<long> StateRequestsReceived = Meter.CreateCounter<long>("engine.channels.state.requests.received", "{request}",
        "State requests received (tag: result = served, malformed, bad_range, too_large, not_member).");

    public static readonly Counter<long> StateResponsesReceived = Meter.CreateCounter<long>("engine.channels.state.responses.received", "{response}",
        "State responses received (tag: result = accepted, unrequested, wrong_sender, late, out_of_range, malformed).");

    public static readonly Counter<long> StateBlocksReceived = Meter.CreateCounter<long>("engine.channels.state.blocks.received", "{block}",
        "Blocks state responses brought that the ledger committed or buffered.");

    public static readonly Counter<long> StateBlocksServed = Meter.CreateCounter<long>("engine.channels.state.blocks.served", "{block}",
        "Blocks sent from the archive in answer to state requests.");

    public static readonly Counter<long> StateTimeouts = Meter.CreateCounter<long>("engine.channels.state.timeouts", "{request}",
        "Catch-up requests not answered within state.responseTimeout (asked again of another peer).");

    public static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}
