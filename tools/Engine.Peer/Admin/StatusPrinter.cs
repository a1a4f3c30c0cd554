using System.Globalization;
using Engine.Peer.Hosting;
using Engine.Peer.Ordering;

namespace Engine.Peer.Admin;

/// <summary>Writes a <see cref="PeerStatus"/> as a person reads it: the peer, its membership view as a table, its counters.</summary>
internal static class StatusPrinter
{
    public static void Print(PeerStatus status, TextWriter output)
    {
        var uptime = PeerHost.FormatUptime(TimeSpan.FromSeconds(status.UptimeSeconds));
        output.WriteLine($"Peer {status.PeerId} of org {status.Org} at {status.Endpoint}, {(status.Running ? "running" : "not running")}, up {uptime}");
        output.WriteLine($"PKI-ID {status.PkiId}");
        output.WriteLine();

        int alive = status.Members.Count(m => m.State == "alive");
        output.WriteLine($"Membership view: {alive} alive, {status.Members.Count - alive} dead (this peer not included)");
        if (status.Members.Count > 0)
        {
            string[] header = ["STATE", "ENDPOINT", "ORG", "PKI-ID", "INCARNATION", "SEQ"];
            var rows = status.Members
                .OrderBy(m => m.State == "alive" ? 0 : 1).ThenBy(m => m.Org, StringComparer.Ordinal).ThenBy(m => m.Endpoint, StringComparer.Ordinal)
                .Select(m => new[]
                {
                    m.State, m.Endpoint, m.Org, Shorten(m.PkiId),
                    m.Incarnation.ToString(CultureInfo.InvariantCulture), m.Sequence.ToString(CultureInfo.InvariantCulture),
                })
                .ToList();
            Table(output, "  ", header, rows);
        }

        output.WriteLine();
        var channels = status.Channels ?? [];
        output.WriteLine(channels.Count == 0 ? "Channels: none joined" : "Channels");
        foreach (var channel in channels)
        {
            string orderer = channel.Orderer is null ? "" : $" (orderer {channel.Orderer})";
            if (channel.State != "joined")
            {
                output.WriteLine($"  {channel.Channel}{orderer}: {channel.State}");
                continue;
            }

            string leaders = channel.Leaders.Count == 0 ? "none seen" : string.Join(", ", channel.Leaders);
            output.WriteLine($"  {channel.Channel}{orderer}: ledger height {channel.Height}, {(channel.IsLeader ? "this peer LEADS" : "this peer follows")}; leader(s) of {status.Org}: {leaders}");
            output.WriteLine($"    channel view: {channel.Members.Count} other peer(s) with state in {channel.Channel}");
            var rows = channel.Members
                .OrderBy(m => m.Org, StringComparer.Ordinal).ThenBy(m => m.Endpoint, StringComparer.Ordinal)
                .Select(m => new[]
                {
                    m.Endpoint, m.Org, Shorten(m.PkiId), m.Height.ToString(CultureInfo.InvariantCulture),
                    channel.Leaders.Contains(m.Endpoint) ? "leader" : "",
                })
                .Prepend([status.Endpoint, status.Org, Shorten(status.PkiId), channel.Height.ToString(CultureInfo.InvariantCulture), (channel.IsLeader ? "leader, " : "") + "this peer"])
                .ToList();
            Table(output, "      ", ["ENDPOINT", "ORG", "PKI-ID", "HEIGHT", ""], rows);
            if (channel.Counters.Count > 0)
            {
                output.WriteLine("    blocks: " + string.Join(", ", channel.Counters.Select(c => $"{c.Name} {c.Value.ToString(CultureInfo.InvariantCulture)}")));
            }
        }

        output.WriteLine();
        output.WriteLine("Counters");
        int nameWidth = status.Counters.Count == 0 ? 0 : status.Counters.Max(c => c.Name.Length);
        foreach (var counter in status.Counters)
        {
            output.WriteLine($"  {counter.Name.PadRight(nameWidth)}  {counter.Value.ToString("N0", CultureInfo.InvariantCulture),15}");
        }
    }

    /// <summary>Writes an orderer's status: per channel its height, cutting rate, orgs with anchors, and the delivery streams open (one per org: its leader).</summary>
    public static void Print(OrdererStatus status, TextWriter output)
    {
        var uptime = PeerHost.FormatUptime(TimeSpan.FromSeconds(status.UptimeSeconds));
        output.WriteLine($"Orderer {status.OrdererId} at {status.Endpoint}, {(status.Running ? "running" : "not running")}, up {uptime}");
        output.WriteLine();
        output.WriteLine("Channels");
        foreach (var channel in status.Channels)
        {
            string rate = channel.BlocksPerSecond > 0
                ? string.Create(CultureInfo.InvariantCulture, $"cutting {channel.BlocksPerSecond} block(s)/s")
                : "cutting on demand only";
            output.WriteLine($"  {channel.Channel}: height {channel.Height}, {rate}, {channel.Streams.Count} delivery stream(s) open");
            var rows = channel.Orgs.Select(o => new[]
            {
                o.Org,
                o.AnchorPeers.Count == 0 ? "(none)" : string.Join(' ', o.AnchorPeers),
                string.Join(' ', channel.Streams.Where(st => st.Org == o.Org).Select(st => st.Peer)) is { Length: > 0 } peers ? peers : "(none)",
            }).ToList();
            Table(output, "    ", ["ORG", "ANCHOR PEERS", "DELIVERY STREAM TO (THE ORG'S LEADER)"], rows);
        }

        output.WriteLine();
        output.WriteLine("Counters");
        int nameWidth = status.Counters.Count == 0 ? 0 : status.Counters.Max(c => c.Name.Length);
        foreach (var counter in status.Counters)
        {
            output.WriteLine($"  {counter.Name.PadRight(nameWidth)}  {counter.Value.ToString("N0", CultureInfo.InvariantCulture),15}");
        }
    }

    /// <summary>Writes rows under a header, each column as wide as its widest cell.</summary>
    internal static void Table(TextWriter output, string indent, IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        int[] widths = [.. header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length)))];
        output.WriteLine(indent + string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows)
        {
            output.WriteLine(indent + string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }
    }

    /// <summary>The first 16 hex digits of a PKI-ID: enough to tell peers apart in a table.</summary>
    internal static string Shorten(string pkiId) => pkiId.Length > 16 ? pkiId[..16] + "…" : pkiId;
}
