using Engine.Membership;
using Engine.Protocol;
using Engine.Security;
using Engine.Tests.Transport.Udp;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Tests.Security;

public sealed class SignatureVerifierTests : IDisposable
{
    private SecurityTestKit _kit = null!;
    private MessageSigner _signer1 = null!;
    private MessageSigner _signer2 = null!;
    private MessageSigner _rogueSigner = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        _kit = new SecurityTestKit();
        _signer1 = new MessageSigner(_kit.Peer1);
        _signer2 = new MessageSigner(_kit.Peer2);
        _rogueSigner = new MessageSigner(_kit.RoguePeer);
    }

    public void Dispose()
    {
        _signer1.Dispose();
        _signer2.Dispose();
        _rogueSigner.Dispose();
        _kit.Dispose();
    }

    [Test]
    public void AnAliveCarryingItsIdentityIsLearnedVerifiedOnceAndItsCopiesHitTheCache()
    {
        var verifier = _kit.NewVerifier();
        byte[] alive = SecurityTestKit.Alive(_signer1, 10, 1, _kit.Peer1.Identity);

        Assert.That(verifier.Verify(alive, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Verified));
        Assert.That(verifier.Identities.TryGet(_kit.Peer1.PkiId, out var learned), Is.True);
        Assert.That(learned.OrgId, Is.EqualTo("Org1"));
        for (int copy = 0; copy < 5; copy++)
        {
            Assert.That(verifier.Verify(alive, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Cached));
        }

        Assert.That(verifier.Counters.Verified, Is.EqualTo(1));
        Assert.That(verifier.Counters.Cached, Is.EqualTo(5));

        // The next sequence number is a new message: verified once (the identity is known now, so it need not ride along).
        byte[] next = SecurityTestKit.Alive(_signer1, 10, 2);
        Assert.That(verifier.Verify(next, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Verified));
        Assert.That(verifier.Verify(next, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Cached));
    }

    [Test]
    public void StateInfoAndLeadershipAreSignedAndVerifiedOtherKindsAreNotSigned()
    {
        var verifier = _kit.NewVerifier();
        verifier.Identities.AddSelf(_kit.Peer2);
        byte[] state = SecurityTestKit.Seal(_signer2, SecurityTestKit.StateInfo(_kit.Peer2.PkiId, 5, 1, 100));
        byte[] leader = SecurityTestKit.Seal(_signer2, SecurityTestKit.Leadership(_kit.Peer2.PkiId, 5, 1));
        Assert.That(verifier.Verify(state, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Verified));
        Assert.That(verifier.Verify(leader, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Verified), "same PeerTime, another kind: its own entry");
        Assert.That(verifier.Verify(state, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Cached));
        Assert.That(verifier.Verify(leader, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Cached));

        var hello = new GossipMessage { Tag = GossipMessage.Types.Tag.Empty, Hello = new GossipHello { Nonce = 1 } };
        byte[] unsignedHello = Google.Protobuf.MessageExtensions.ToByteArray(new Envelope { Payload = Google.Protobuf.MessageExtensions.ToByteString(hello) });
        Assert.That(verifier.Verify(unsignedHello, SecurityTestKit.Source), Is.EqualTo(VerifyResult.NotSigned));
    }

    [Test]
    public void AForgedSignatureIsRefusedCountedAndLoggedNamingTheSourceRateLimited()
    {
        var logger = new CapturingLogger();
        var verifier = _kit.NewVerifier(logger);
        verifier.Identities.AddSelf(_kit.Peer1);
        byte[] genuine = SecurityTestKit.Alive(_signer1, 10, 1);

        // The payload is altered after signing: same PKI-ID and PeerTime, another endpoint.
        byte[] altered = (byte[])genuine.Clone();
        int at = altered.AsSpan().IndexOf("7051"u8);
        altered[at + 3] = (byte)'9';
        var attacker = PeerEndpoint.Loopback(6666);
        for (int i = 0; i < 50; i++)
        {
            Assert.That(verifier.Verify(altered, attacker), Is.EqualTo(VerifyResult.Forged));
        }

        // Signed by another key (the rogue CA's peer), claiming peer 1's PKI-ID.
        var fields = new AliveFields { PkiId = _kit.Peer1.PkiId.ToArray(), Endpoint = "127.0.0.1:7051"u8, IncNum = 10, SeqNum = 1 };
        var buffer = new byte[512];
        int n = _rogueSigner.SealAlive(fields, buffer);
        Assert.That(verifier.Verify(buffer.AsSpan(0, n), attacker), Is.EqualTo(VerifyResult.Forged));

        Assert.That(verifier.Counters.Forged, Is.EqualTo(51));
        Assert.That(verifier.Counters.Verified, Is.Zero);
        var lines = logger.Lines.Where(l => l.Id.Id == 9000).ToList();
        Assert.That(lines, Has.Count.EqualTo(1), "one line per second, the rest counted as suppressed");
        Assert.That(lines[0].Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(lines[0].Message, Does.Contain("127.0.0.1:6666").And.Contain(_kit.Peer1.PkiId.ToShortString()).And.Contain("does not verify"));

        _kit.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(verifier.Verify(altered, attacker), Is.EqualTo(VerifyResult.Forged));
        Assert.That(logger.Lines.Last().Message, Does.Contain("(50 similar lines suppressed)"));

        // The genuine message still verifies: refusals left nothing behind in the cache.
        Assert.That(verifier.Verify(genuine, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Verified));
    }

    [Test]
    public void ACachedMessageWithAnotherSignatureOrPayloadIsNotACacheHit()
    {
        var verifier = _kit.NewVerifier();
        verifier.Identities.AddSelf(_kit.Peer1);
        byte[] genuine = SecurityTestKit.Alive(_signer1, 10, 1);
        Assert.That(verifier.Verify(genuine, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Verified));

        // Flip a byte of the signature's s value: the envelope still parses, the cache must not vouch for it.
        byte[] badSignature = (byte[])genuine.Clone();
        badSignature[^2] ^= 0x01;
        Assert.That(verifier.Verify(badSignature, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Forged));
        Assert.That(verifier.Verify(genuine, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Cached));
    }

    [Test]
    public void UnsignedUnknownAndBadIdentitiesAreRefused()
    {
        var verifier = _kit.NewVerifier();
        var fields = new AliveFields { PkiId = _kit.Peer1.PkiId.ToArray(), Endpoint = "127.0.0.1:7051"u8, IncNum = 1, SeqNum = 1 };
        var buffer = new byte[1024];
        int n = AliveCodec.Write(buffer, fields, []);
        Assert.That(verifier.Verify(buffer.AsSpan(0, n), SecurityTestKit.Source), Is.EqualTo(VerifyResult.Unsigned));

        Assert.That(verifier.Verify(SecurityTestKit.Alive(_signer1, 1, 1), SecurityTestKit.Source), Is.EqualTo(VerifyResult.UnknownIdentity));

        // A peer of an untrusted CA presenting its identity: refused, not learned.
        byte[] rogue = SecurityTestKit.Alive(_rogueSigner, 1, 1, _kit.RoguePeer.Identity);
        Assert.That(verifier.Verify(rogue, SecurityTestKit.Source), Is.EqualTo(VerifyResult.BadIdentity));
        Assert.That(verifier.Identities.TryGet(_kit.RoguePeer.PkiId, out _), Is.False);

        // Peer 1's PKI-ID with peer 2's (valid) identity attached.
        var mixed = new AliveFields { PkiId = _kit.Peer1.PkiId.ToArray(), Endpoint = "127.0.0.1:7051"u8, IncNum = 1, SeqNum = 2, Identity = _kit.Peer2.Identity };
        n = _signer2.SealAlive(mixed, buffer);
        Assert.That(verifier.Verify(buffer.AsSpan(0, n), SecurityTestKit.Source), Is.EqualTo(VerifyResult.BadIdentity));

        // A PKI-ID that is not 32 bytes, and bytes that are no envelope.
        var shortId = new AliveFields { PkiId = new byte[7], Endpoint = "x"u8, IncNum = 1, SeqNum = 1 };
        n = _signer1.SealAlive(shortId, buffer);
        Assert.That(verifier.Verify(buffer.AsSpan(0, n), SecurityTestKit.Source), Is.EqualTo(VerifyResult.Malformed));
        Assert.That(verifier.Verify([0xFF, 0xFF, 0xFF], SecurityTestKit.Source), Is.EqualTo(VerifyResult.Malformed));

        Assert.That(verifier.Counters.Refused, Is.EqualTo(6));
        Assert.That(verifier.Counters.Verified + verifier.Counters.Cached, Is.Zero);
    }

    [Test]
    public void AnExpiredIdentityIsRefusedAndForgotten()
    {
        var time = new Engine.Tests.Transport.ManualTimeProvider();
        using var ca = OrgCertificateAuthority.Create("Org1", time);
        using var peer = ca.IssuePeer("peer0.Org1", time, TimeSpan.FromDays(1));
        using var signer = new MessageSigner(peer);
        var trust = new TrustStore(time);
        trust.Add("Org1", ca.Certificate);
        var verifier = new SignatureVerifier(new IdentityRegistry(trust, time: time), new VerifiedMessageCache(64), new CapturingLogger());
        Assert.That(verifier.Verify(SecurityTestKit.Alive(signer, 1, 1, peer.Identity), SecurityTestKit.Source), Is.EqualTo(VerifyResult.Verified));

        time.Advance(TimeSpan.FromDays(2));
        Assert.That(verifier.Verify(SecurityTestKit.Alive(signer, 1, 2), SecurityTestKit.Source), Is.EqualTo(VerifyResult.ExpiredIdentity));
        Assert.That(verifier.Identities.Count, Is.Zero);
        Assert.That(verifier.Verify(SecurityTestKit.Alive(signer, 1, 3, peer.Identity), SecurityTestKit.Source), Is.EqualTo(VerifyResult.BadIdentity), "cannot be re-learned");
    }

    [Test]
    public void AReplayedAliveChangesNothingInTheMembershipView()
    {
        var verifier = _kit.NewVerifier();
        var table = new MembershipTable(new MembershipOptions(), _kit.Time, new Random(1));
        byte[] first = SecurityTestKit.Alive(_signer1, 10, 1, _kit.Peer1.Identity);
        byte[] second = SecurityTestKit.Alive(_signer1, 10, 2);

        Assert.That(Apply(verifier, table, first), Is.EqualTo(MembershipChange.Added));
        Assert.That(Apply(verifier, table, second), Is.EqualTo(MembershipChange.Refreshed));
        Assert.That(Apply(verifier, table, first), Is.EqualTo(MembershipChange.Stale), "an older alive, replayed");
        Assert.That(Apply(verifier, table, second), Is.EqualTo(MembershipChange.Stale), "the latest alive, replayed");
        Assert.That(table.Find(_kit.Peer1.PkiId.ToArray())!.Time, Is.EqualTo(new Engine.Membership.PeerTime(10, 2)));
        Assert.That(verifier.Counters.Verified, Is.EqualTo(2));
        Assert.That(verifier.Counters.Cached, Is.EqualTo(2), "replays cost no signature check");
    }

    [Test]
    public void ACacheHitAllocatesNothing()
    {
        var verifier = _kit.NewVerifier();
        byte[] alive = SecurityTestKit.Alive(_signer1, 10, 1, _kit.Peer1.Identity);
        Assert.That(verifier.Verify(alive, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Verified));
        Assert.That(verifier.Verify(alive, SecurityTestKit.Source), Is.EqualTo(VerifyResult.Cached)); // warm

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            verifier.Verify(alive, SecurityTestKit.Source);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(verifier.Counters.Cached, Is.EqualTo(1001));
    }

    private static MembershipChange Apply(SignatureVerifier verifier, MembershipTable table, byte[] envelope)
    {
        Assert.That(verifier.Verify(envelope, SecurityTestKit.Source).IsAccepted());
        Assert.That(EnvelopeView.TryParse(envelope, out var view), Is.True);
        Assert.That(AliveCodec.TryParse(view.Content, out var a), Is.True);
        return table.Update(a.PkiId, new MemberAnnouncement(new Engine.Membership.PeerTime(a.IncNum, a.SeqNum), MemberState.Alive, PeerEndpoint.Loopback(7051), org: "Org1"), 0, out _);
    }
}
