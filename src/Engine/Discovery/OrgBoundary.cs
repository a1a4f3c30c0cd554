using System.Text;
using Engine.Protocol;

namespace Engine.Discovery;

/// <summary>
/// What of an alive message may cross this peer's org boundary (Fabric's disclosure policy). To a peer of another org
/// goes: an alive message of a member of this org only if that member has an external endpoint, and then without its
/// secret envelope (the internal endpoint); an alive message of a third org as received (it carries that org's external
/// endpoint); never an alive message of the destination's own org (its peers learn each other inside their org).
/// </summary>
/// <param name="selfOrg">This peer's org.</param>
/// <param name="open">No boundary (Engine only, <c>CrossOrgMembership.AnyOrg</c>): every org is treated as this peer's own.</param>
internal sealed class OrgBoundary(string selfOrg, bool open = false)
{
    private readonly byte[] _selfUtf8 = Encoding.UTF8.GetBytes(selfOrg);

    public string SelfOrg { get; } = selfOrg;

    public bool IsSameOrg(string org) => open || string.Equals(org, SelfOrg, StringComparison.Ordinal);

    /// <summary>
    /// Writes into <paramref name="destination"/> (at least as long as <paramref name="envelope"/>) the form of an alive
    /// envelope that may go to a peer of <paramref name="destinationOrg"/> (another org); returns its length, 0 when nothing may go.
    /// </summary>
    public int Disclose(ReadOnlySpan<byte> envelope, string destinationOrg, Span<byte> destination)
    {
        if (!EnvelopeView.TryParse(envelope, out var view) || view.ContentField != EnvelopeView.AliveContent
            || !AliveCodec.TryParse(view.Content, out var fields) || !TryReadOrg(fields.Identity, out var subjectOrg))
        {
            return 0;
        }

        if (subjectOrg.SequenceEqual(_selfUtf8))
        {
            // A member of this org: visible outside only with an external endpoint (then its alive carries a secret).
            if (view.SecretEnvelope.IsEmpty)
            {
                return 0;
            }
        }
        else if (Matches(subjectOrg, destinationOrg))
        {
            return 0;
        }

        return Math.Max(0, AliveCodec.WriteWithoutSecret(envelope, destination));
    }

    /// <summary>True when a member of <paramref name="memberOrg"/> with <paramref name="externalEndpointSet"/> may be listed to a peer of <paramref name="requesterOrg"/>.</summary>
    public bool MayList(string memberOrg, bool externalEndpointSet, string requesterOrg) =>
        IsSameOrg(requesterOrg) || (IsSameOrg(memberOrg) ? externalEndpointSet : !string.Equals(memberOrg, requesterOrg, StringComparison.Ordinal));

    private static bool Matches(ReadOnlySpan<byte> utf8, string org)
    {
        Span<byte> buffer = stackalloc byte[256];
        return Encoding.UTF8.TryGetBytes(org, buffer, out int length) && utf8.SequenceEqual(buffer[..length]);
    }

    /// <summary>The MSP id inside an alive message's identity (<c>SerializedIdentity.mspid = 1</c>).</summary>
    private static bool TryReadOrg(ReadOnlySpan<byte> identity, out ReadOnlySpan<byte> org)
    {
        org = default;
        var reader = new ProtoSpanReader(identity);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out int field, out var wireType))
            {
                return false;
            }

            bool ok = (field, wireType) == (1, WireType.LengthDelimited) ? reader.TryReadBytes(out org) : reader.TrySkip(wireType);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
