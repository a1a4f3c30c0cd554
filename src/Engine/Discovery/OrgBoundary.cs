using System.Text;
using Engine.Protocol;

namespace Engine.Discovery;

/// <summary>
/// What of an alive message may cross this peer's org boundary (Fabric's disclosure policy and
/// <c>sendAndFilterSecrets</c>). To a peer of another org goes: an alive message of a member of this org only if that
/// member has an external endpoint, and then without its secret envelope (the internal endpoint); an alive message of
/// another org without its secret (this peer only ever holds it so), including back to a peer of the member's own org.
/// </summary>
/// <remarks>
/// That last case matters: a peer forwards a heartbeat to random members of every org, so with two orgs half of the
/// forwards of an org's heartbeat go to the other org. When those peers could not send it on to the heartbeat's own org
/// (as this class once refused), an org's heartbeats spread inside it with half the fanout: each was accepted by 43 of
/// the 99 other peers (91% of its org since), and 2 x 50 peers counted 550 false deaths in 30 s (none with one org of 100).
/// </remarks>
/// <param name="selfOrg">This peer's org.</param>
/// <param name="open">No boundary (Engine only, <c>CrossOrgMembership.AnyOrg</c>): every org is treated as this peer's own.</param>
internal sealed class OrgBoundary(string selfOrg, bool open = false)
{
    private readonly byte[] _selfUtf8 = Encoding.UTF8.GetBytes(selfOrg);

    public string SelfOrg { get; } = selfOrg;

    public bool IsSameOrg(string org) => open || string.Equals(org, SelfOrg, StringComparison.Ordinal);

    /// <summary>
    /// Writes into <paramref name="destination"/> (at least as long as <paramref name="envelope"/>) the form of an alive
    /// envelope that may go to a peer of another org; returns its length, 0 when nothing may go.
    /// <paramref name="subjectHasExternalEndpoint"/>: the member is known here to have an external endpoint. Its own alive
    /// messages say so by their secret envelope, but a copy that came back through another org has lost it (Fabric
    /// strips secrets at the boundary and still forwards it, <c>sendAndFilterSecrets</c>).
    /// </summary>
    public int Disclose(ReadOnlySpan<byte> envelope, Span<byte> destination, bool subjectHasExternalEndpoint = false)
    {
        if (!EnvelopeView.TryParse(envelope, out var view) || view.ContentField != EnvelopeView.AliveContent
            || !AliveCodec.TryParse(view.Content, out var fields) || !TryReadOrg(fields.Identity, out var subjectOrg))
        {
            return 0;
        }

        if (subjectOrg.SequenceEqual(_selfUtf8) && view.SecretEnvelope.IsEmpty && !subjectHasExternalEndpoint)
        {
            return 0; // a member of this org is visible outside only with an external endpoint (then its alive carries a secret)
        }

        return Math.Max(0, AliveCodec.WriteWithoutSecret(envelope, destination));
    }

    /// <summary>True when a member of <paramref name="memberOrg"/> with <paramref name="externalEndpointSet"/> may be listed to a peer of <paramref name="requesterOrg"/>.</summary>
    public bool MayList(string memberOrg, bool externalEndpointSet, string requesterOrg) =>
        IsSameOrg(requesterOrg) || (IsSameOrg(memberOrg) ? externalEndpointSet : !string.Equals(memberOrg, requesterOrg, StringComparison.Ordinal));

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
