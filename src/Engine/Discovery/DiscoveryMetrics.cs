using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Engine.Membership;

namespace Engine.Discovery;

/// <summary>
/// Discovery's instruments (meter "Engine.Discovery"). Tags are low-cardinality (a reason or a kind of change), never a
/// peer. The member gauges sum over every running node of the process (one, outside tests and simulations).
/// </summary>
internal static class DiscoveryMetrics
{
    public const string MeterName = "Engine.Discovery";

    private static readonly Meter Meter = new(MeterName, "1.0");
    private static readonly ConcurrentDictionary<MembershipTable, byte> Tables = new();

    public static readonly Counter<long> AliveSent = Meter.CreateCounter<long>("engine.discovery.alive.sent", "{message}", "Own alive messages sent (one per destination).");
    public static readonly Counter<long> AliveReceived = Meter.CreateCounter<long>("engine.discovery.alive.received", "{message}", "Alive messages received.");
    public static readonly Counter<long> AliveForwarded = Meter.CreateCounter<long>("engine.discovery.alive.forwarded", "{message}", "Received alive messages forwarded (one per destination).");
    public static readonly Counter<long> AliveStale = Meter.CreateCounter<long>("engine.discovery.alive.stale", "{message}", "Alive messages dropped: not newer than what the table holds.");
    public static readonly Counter<long> AliveRejected = Meter.CreateCounter<long>("engine.discovery.alive.rejected", "{message}", "Alive messages the table refused (bad PKI-ID, table full).");
    public static readonly Counter<long> RequestsSent = Meter.CreateCounter<long>("engine.discovery.membership.requests.sent", "{message}", "Membership requests sent.");
    public static readonly Counter<long> RequestsReceived = Meter.CreateCounter<long>("engine.discovery.membership.requests.received", "{message}", "Membership requests answered.");
    public static readonly Counter<long> ResponsesSent = Meter.CreateCounter<long>("engine.discovery.membership.responses.sent", "{frame}", "Membership response frames sent.");
    public static readonly Counter<long> EntriesOmitted = Meter.CreateCounter<long>("engine.discovery.membership.entries.omitted", "{entry}", "Response entries left out because the asker's known filter says it holds the member at that very time.");
    public static readonly Counter<long> EntriesSent = Meter.CreateCounter<long>("engine.discovery.membership.entries.sent", "{entry}", "Entries sent in membership responses.");
    public static readonly Counter<long> EntriesLearned = Meter.CreateCounter<long>("engine.discovery.membership.entries.learned", "{entry}", "Entries of received membership responses that changed the table (the others were stale or refused).");
    public static readonly Counter<long> ViewsAgreed = Meter.CreateCounter<long>("engine.discovery.membership.views.agreed", "{request}", "Membership requests answered with the responder alone, without walking its view: the asker's view digest equals the responder's (nothing to teach).");
    public static readonly Counter<long> ViewsDiffered = Meter.CreateCounter<long>("engine.discovery.membership.views.differed", "{request}", "Membership requests without a known filter answered with the responder's view digest alone: the views differ, and the asker asks again with its filter.");
    public static readonly Counter<long> ResponsesReceived = Meter.CreateCounter<long>("engine.discovery.membership.responses.received", "{frame}", "Membership response frames received.");
    public static readonly Counter<long> DatagramsSent = Meter.CreateCounter<long>("engine.discovery.datagrams.sent", "{datagram}", "Datagrams of packed alive messages sent.");
    public static readonly Counter<long> SendFailures = Meter.CreateCounter<long>("engine.discovery.send.failures", "{send}", "Sends the transport refused (tag: reason = datagram | frame).");
    public static readonly Counter<long> DecodeErrors = Meter.CreateCounter<long>("engine.discovery.decode.errors", "{message}", "Malformed records, envelopes, alive messages or membership frames (tag: reason).");
    public static readonly Counter<long> Unhandled = Meter.CreateCounter<long>("engine.discovery.unhandled", "{message}", "Envelopes of a kind no layer of the node handles.");
    public static readonly Counter<long> ViewChanges = Meter.CreateCounter<long>("engine.discovery.view.changes", "{change}", "Membership view changes (tag: change = added | resurrected | restarted | died | purged).");
    public static readonly Counter<long> BootstrapAttempts = Meter.CreateCounter<long>("engine.discovery.bootstrap.attempts", "{attempt}", "Membership requests sent to bootstrap peers.");
    public static readonly Counter<long> BootstrapFailures = Meter.CreateCounter<long>("engine.discovery.bootstrap.failures", "{attempt}", "Bootstrap attempts that could not reach the peer.");
    public static readonly Counter<long> BootstrapSuccesses = Meter.CreateCounter<long>("engine.discovery.bootstrap.successes", "{peer}", "Bootstrap peers that answered.");

    static DiscoveryMetrics()
    {
        Meter.CreateObservableGauge("engine.discovery.members.alive", () => Sum(static t => t.AliveCount + t.SuspectCount), "{member}", "Members seen alive.");
        Meter.CreateObservableGauge("engine.discovery.members.dead", () => Sum(static t => t.DeadCount), "{member}", "Members seen dead and not yet purged.");
    }

    public static void Register(MembershipTable table) => Tables.TryAdd(table, 0);

    public static void Unregister(MembershipTable table) => Tables.TryRemove(table, out _);

    public static KeyValuePair<string, object?> Change(string change) => new("change", change);

    private static long Sum(Func<MembershipTable, int> count)
    {
        long total = 0;
        foreach (var table in Tables.Keys)
        {
            total += count(table);
        }

        return total;
    }
}
