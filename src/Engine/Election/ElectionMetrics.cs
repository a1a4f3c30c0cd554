using System.Diagnostics.Metrics;

namespace Engine.Election;

/// <summary>
/// Election instruments (meter "Engine.Election"). Tags are low-cardinality (a kind, a change, a result; the leader
/// gauge carries the channel and org, as Fabric's <c>gossip_leader_election_leader{channel}</c>), never a peer.
/// </summary>
internal static class ElectionMetrics
{
    public const string MeterName = "Engine.Election";

    private static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> MessagesSent = Meter.CreateCounter<long>("engine.election.messages.sent", "{message}", "Leadership messages gossiped (tag: type = proposal, declaration).");
    public static readonly Counter<long> MessagesReceived = Meter.CreateCounter<long>("engine.election.messages.received", "{message}", "Leadership messages received (tag: type; result = accepted, not_member, self, ignored).");
    public static readonly Counter<long> Elections = Meter.CreateCounter<long>("engine.election.rounds", "{round}", "Elections this peer took part in (it proposed itself).");
    public static readonly Counter<long> LeadershipChanges = Meter.CreateCounter<long>("engine.election.leadership.changes", "{change}", "Leadership changes of this peer (tag: change = elected, stepped_down, yielded, static).");
    public static readonly Gauge<int> Leader = Meter.CreateGauge<int>("engine.election.leader", "{peer}", "1 while this peer leads its org in the channel, 0 otherwise (tags: channel, org).");

    public static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}
