using System.Text;
using Engine.Protocol;
using Engine.Transport;
using Google.Protobuf;

namespace Engine.Ledger;

/// <summary>One org of a channel and its anchor peers (possibly none).</summary>
internal sealed record OrgAnchors(string OrgId, IReadOnlyList<PeerEndpoint> AnchorPeers);

/// <summary>
/// A channel's configuration as a config block carries it (Engine-only <c>ChannelConfig</c> of protos/gossip.proto):
/// the channel id and each member org with its anchor peers. Immutable; parsed and validated from the wire by
/// <see cref="TryParse"/>.
/// </summary>
internal sealed class ChannelConfiguration
{
    /// <summary>The longest channel id (as the gossip layer's message identities allow).</summary>
    public const int MaxChannelIdBytes = 255;

    /// <summary>The most orgs and the most anchor peers per org a configuration may list.</summary>
    public const int MaxOrgs = 1024;

    public const int MaxAnchorsPerOrg = 64;

    public ChannelConfiguration(string channelId, IEnumerable<OrgAnchors> orgs)
    {
        ArgumentNullException.ThrowIfNull(channelId);
        ArgumentNullException.ThrowIfNull(orgs);
        ChannelId = channelId;
        Orgs = orgs.ToArray();
        string? error = Validate(ChannelId, Orgs);
        if (error is not null)
        {
            throw new ArgumentException($"Invalid channel configuration: {error}.", nameof(orgs));
        }
    }

    public string ChannelId { get; }

    public IReadOnlyList<OrgAnchors> Orgs { get; }

    /// <summary>The anchor peers of <paramref name="orgId"/>: empty when the org has none or is not a member.</summary>
    public IReadOnlyList<PeerEndpoint> AnchorsOf(string orgId)
    {
        foreach (var org in Orgs)
        {
            if (org.OrgId == orgId)
            {
                return org.AnchorPeers;
            }
        }

        return [];
    }

    public bool HasOrg(string orgId) => Orgs.Any(o => o.OrgId == orgId);

    /// <summary>A copy with <paramref name="orgId"/>'s anchor peers replaced (the org is added when missing): an anchor update.</summary>
    public ChannelConfiguration WithAnchors(string orgId, IEnumerable<PeerEndpoint> anchors)
    {
        var list = Orgs.ToList();
        int index = list.FindIndex(o => o.OrgId == orgId);
        var updated = new OrgAnchors(orgId, anchors.ToArray());
        if (index < 0)
        {
            list.Add(updated);
        }
        else
        {
            list[index] = updated;
        }

        return new ChannelConfiguration(ChannelId, list);
    }

    /// <summary>The wire form: a marshalled <c>ChannelConfig</c>.</summary>
    public byte[] ToBytes()
    {
        var message = new ChannelConfig { ChannelId = ChannelId };
        foreach (var org in Orgs)
        {
            var o = new OrgConfig { OrgId = org.OrgId };
            o.AnchorPeers.AddRange(org.AnchorPeers.Select(a => a.ToString()));
            message.Orgs.Add(o);
        }

        return message.ToByteArray();
    }

    /// <summary>Parses and validates a marshalled <c>ChannelConfig</c>; on failure <paramref name="error"/> says what is wrong and where.</summary>
    public static bool TryParse(ReadOnlySpan<byte> bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ChannelConfiguration? config, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        config = null;
        ChannelConfig message;
        try
        {
            message = ChannelConfig.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            error = $"the channel configuration does not parse: {ex.Message}";
            return false;
        }

        var orgs = new List<OrgAnchors>(message.Orgs.Count);
        for (int i = 0; i < message.Orgs.Count; i++)
        {
            var org = message.Orgs[i];
            if (org.AnchorPeers.Count > MaxAnchorsPerOrg)
            {
                error = $"org #{i} ({org.OrgId}) lists {org.AnchorPeers.Count} anchor peers, more than {MaxAnchorsPerOrg}";
                return false;
            }

            var anchors = new PeerEndpoint[org.AnchorPeers.Count];
            for (int j = 0; j < anchors.Length; j++)
            {
                if (!PeerEndpoint.TryParse(org.AnchorPeers[j], out anchors[j], out string? endpointError))
                {
                    error = $"org #{i} ({org.OrgId}): anchor peer #{j} '{Truncate(org.AnchorPeers[j])}' is not ip:port ({endpointError})";
                    return false;
                }
            }

            orgs.Add(new OrgAnchors(org.OrgId, anchors));
        }

        error = Validate(message.ChannelId, orgs);
        if (error is not null)
        {
            return false;
        }

        config = new ChannelConfiguration(message.ChannelId, orgs);
        return true;
    }

    public override string ToString() =>
        $"{ChannelId}: " + string.Join("; ", Orgs.Select(o => $"{o.OrgId} [{string.Join(", ", o.AnchorPeers)}]"));

    private static string? Validate(string channelId, IReadOnlyList<OrgAnchors> orgs)
    {
        int channelBytes = Encoding.UTF8.GetByteCount(channelId);
        if (channelBytes is 0 or > MaxChannelIdBytes)
        {
            return $"the channel id must be 1 to {MaxChannelIdBytes} bytes, was {channelBytes}";
        }

        if (orgs.Count is 0 or > MaxOrgs)
        {
            return $"a channel has 1 to {MaxOrgs} orgs, this one {orgs.Count}";
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < orgs.Count; i++)
        {
            var org = orgs[i];
            if (string.IsNullOrWhiteSpace(org.OrgId))
            {
                return $"org #{i} has no org id";
            }

            if (!seen.Add(org.OrgId))
            {
                return $"org #{i} ({org.OrgId}) is listed twice";
            }

            for (int j = 0; j < org.AnchorPeers.Count; j++)
            {
                var anchor = org.AnchorPeers[j];
                if (anchor.IsEmpty || anchor.Port == 0)
                {
                    return $"org #{i} ({org.OrgId}): anchor peer #{j} has no address or port";
                }

                for (int k = 0; k < j; k++)
                {
                    if (org.AnchorPeers[k] == anchor)
                    {
                        return $"org #{i} ({org.OrgId}): anchor peer {anchor} is listed twice";
                    }
                }
            }
        }

        return null;
    }

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "...";
}
