using System.Text;
using Engine.Discovery;
using Engine.Protocol;

namespace Engine.Tests.Discovery;

/// <summary>What of an alive message crosses an org boundary (Fabric's disclosure and sendAndFilterSecrets).</summary>
public sealed class OrgBoundaryTests
{
    private static byte[] Alive(string org, string? internalEndpoint)
    {
        byte[] identity = OrgIdentity.Encode(org);
        var fields = new AliveFields
        {
            PkiId = Encoding.UTF8.GetBytes("peer-of-" + org),
            Endpoint = Encoding.UTF8.GetBytes("10.0.0.1:7051"),
            IncNum = 1,
            SeqNum = 7,
            Identity = identity,
            InternalEndpoint = internalEndpoint is null ? default : Encoding.UTF8.GetBytes(internalEndpoint),
        };
        var buffer = new byte[AliveCodec.EnvelopeSize(fields, 0)];
        AliveCodec.Write(buffer, fields, []);
        return buffer;
    }

    private static bool HasSecret(ReadOnlySpan<byte> envelope) => EnvelopeView.TryParse(envelope, out var view) && !view.SecretEnvelope.IsEmpty;

    [Test]
    public void AnOwnMembersAlive_CrossesWithoutItsSecret_OnlyWhenTheMemberHasAnExternalEndpoint()
    {
        var boundary = new OrgBoundary("Org1");
        var output = new byte[512];

        int length = boundary.Disclose(Alive("Org1", "192.168.0.1:7051"), output);
        Assert.That(length, Is.GreaterThan(0), "it has an external endpoint (its alive carries a secret)");
        Assert.That(HasSecret(output.AsSpan(0, length)), Is.False, "the internal endpoint never leaves the org");

        Assert.That(boundary.Disclose(Alive("Org1", null), output), Is.Zero, "no secret and nothing known: a member without an external endpoint stays inside");
        Assert.That(boundary.Disclose(Alive("Org1", null), output, subjectHasExternalEndpoint: true), Is.GreaterThan(0),
            "a copy that lost its secret through another org still crosses when the member is known to have an external endpoint");
    }

    [Test]
    public void AnotherOrgsAlive_GoesOnToAnyOrg_IncludingBackToItsOwn()
    {
        // Half of a peer's random forwards of another org's heartbeat go to that org's peers; dropping them halved the
        // heartbeat's fanout inside its own org (2 x 50 peers: 550 false deaths in 30 s).
        var boundary = new OrgBoundary("Org2");
        var output = new byte[512];
        int length = boundary.Disclose(Alive("Org1", null), output);
        Assert.That(length, Is.GreaterThan(0));
        Assert.That(EnvelopeView.TryParse(output.AsSpan(0, length), out var view) && AliveCodec.TryParse(view.Content, out var fields) && fields.SeqNum == 7, Is.True);
    }
}
