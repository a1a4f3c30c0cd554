using System.Diagnostics.Metrics;

namespace Engine.Gossip;

/// <summary>
/// Dissemination instruments (meter "Engine.Gossip"). Tags are low-cardinality (a result, reason or kind), never a peer.
/// </summary>
internal static class GossipMetrics
{
    public const string MeterName = "Engine.Gossip";

    private static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> MessagesReceived = Meter.CreateCounter<long>("engine.gossip.messages.received", "{message}", "Disseminated messages received (tag: result = new, duplicate, stale, malformed, rejected).");
    public static readonly Counter<long> MessagesForwarded = Meter.CreateCounter<long>("engine.gossip.messages.forwarded", "{message}", "Messages handed to the push emitter (received and new, or published here).");
    public static readonly Counter<long> PushTransmissions = Meter.CreateCounter<long>("engine.gossip.push.transmissions", "{copy}", "Message copies pushed to a peer (tag: via = datagram, frame).");
    public static readonly Counter<long> PushFlushes = Meter.CreateCounter<long>("engine.gossip.push.flushes", "{flush}", "Emitter flushes (tag: trigger = size, timer).");
    public static readonly Counter<long> PushDropped = Meter.CreateCounter<long>("engine.gossip.push.dropped", "{message}", "Messages the emitter dropped (tag: reason = pending_full, no_peers, send_failed).");
    public static readonly Counter<long> PullRounds = Meter.CreateCounter<long>("engine.gossip.pull.rounds", "{round}", "Pull rounds started as initiator.");
    public static readonly Counter<long> PullItemsReceived = Meter.CreateCounter<long>("engine.gossip.pull.items.received", "{item}", "Requested items accepted from pull updates.");
    public static readonly Counter<long> PullItemsSent = Meter.CreateCounter<long>("engine.gossip.pull.items.sent", "{item}", "Items sent in pull updates as responder.");
    public static readonly Counter<long> PullDropped = Meter.CreateCounter<long>("engine.gossip.pull.dropped", "{message}", "Pull messages or items dropped (tag: reason).");

    public static readonly Counter<long> LazyWants = Meter.CreateCounter<long>("engine.gossip.lazy.wants", "{datagram}", "Want datagrams sent for announced messages push had not brought within the grace period.");
    public static readonly Counter<long> LazyServed = Meter.CreateCounter<long>("engine.gossip.lazy.served", "{item}", "Messages sent in answer to a Want.");
    public static readonly Counter<long> LazyDropped = Meter.CreateCounter<long>("engine.gossip.lazy.dropped", "{item}", "Announcements or Wants dropped (tag: reason = waiting_full, malformed, too_many).");

    public static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}
