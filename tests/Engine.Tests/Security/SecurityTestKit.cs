using Engine.Protocol;
using Engine.Security;
using Engine.Tests.Transport;
using Engine.Tests.Transport.Udp;
using Engine.Transport;
using Google.Protobuf;

namespace Engine.Tests.Security;

/// <summary>Orgs, peers and signed envelopes for the security tests (key generation is the slow part: share fixtures).</summary>
internal sealed class SecurityTestKit : IDisposable
{
    public static readonly PeerEndpoint Source = PeerEndpoint.Loopback(7051);

    public SecurityTestKit(ManualTimeProvider? time = null)
    {
        Time = time ?? new ManualTimeProvider();
        Org1 = OrgCertificateAuthority.Create("Org1", Time);
        Org2 = OrgCertificateAuthority.Create("Org2", Time);
        Rogue = OrgCertificateAuthority.Create("Org1", Time); // claims Org1, is not Org1's trusted CA
        Peer1 = Org1.IssuePeer("peer0.Org1", Time);
        Peer2 = Org2.IssuePeer("peer0.Org2", Time);
        RoguePeer = Rogue.IssuePeer("peer9.Org1", Time);
        Trust = new TrustStore(Time);
        Trust.Add("Org1", Org1.Certificate);
        Trust.Add("Org2", Org2.Certificate);
    }

    public ManualTimeProvider Time { get; }

    public OrgCertificateAuthority Org1 { get; }

    public OrgCertificateAuthority Org2 { get; }

    public OrgCertificateAuthority Rogue { get; }

    public PeerCredential Peer1 { get; }

    public PeerCredential Peer2 { get; }

    public PeerCredential RoguePeer { get; }

    public TrustStore Trust { get; }

    public SignatureVerifier NewVerifier(CapturingLogger? logger = null, int cacheCapacity = 1024) =>
        new(new IdentityRegistry(Trust, time: Time), new VerifiedMessageCache(cacheCapacity), logger ?? new CapturingLogger());

    public static byte[] Alive(MessageSigner signer, ulong inc, ulong seq, ReadOnlySpan<byte> identity = default, string endpoint = "127.0.0.1:7051")
    {
        var pki = signer.PkiId.ToArray();
        var fields = new AliveFields { PkiId = pki, Endpoint = System.Text.Encoding.UTF8.GetBytes(endpoint), IncNum = inc, SeqNum = seq, Identity = identity };
        var buffer = new byte[AliveCodec.EnvelopeSize(fields, MessageSigner.MaxSignatureLength)];
        int written = signer.SealAlive(fields, buffer);
        return buffer[..written];
    }

    public static byte[] Seal(MessageSigner signer, GossipMessage message)
    {
        byte[] payload = message.ToByteArray();
        var buffer = new byte[MessageSigner.SealedSize(payload.Length)];
        int written = signer.Seal(payload, buffer);
        return buffer[..written];
    }

    public static GossipMessage Leadership(PkiId pki, ulong inc, ulong seq) => new()
    {
        Tag = GossipMessage.Types.Tag.ChanAndOrg,
        Channel = ByteString.CopyFromUtf8("ch1"),
        LeadershipMsg = new LeadershipMessage
        {
            PkiId = ByteString.CopyFrom(pki.ToArray()),
            Timestamp = new Engine.Protocol.PeerTime { IncNum = inc, SeqNum = seq },
            IsDeclaration = true,
        },
    };

    public static GossipMessage StateInfo(PkiId pki, ulong inc, ulong seq, ulong height) => new()
    {
        Tag = GossipMessage.Types.Tag.ChanOrOrg,
        Channel = ByteString.CopyFromUtf8("ch1"),
        StateInfo = new StateInfo
        {
            PkiId = ByteString.CopyFrom(pki.ToArray()),
            Timestamp = new Engine.Protocol.PeerTime { IncNum = inc, SeqNum = seq },
            Properties = new Properties { LedgerHeight = height },
        },
    };

    public void Dispose()
    {
        Peer1.Dispose();
        Peer2.Dispose();
        RoguePeer.Dispose();
        Org1.Dispose();
        Org2.Dispose();
        Rogue.Dispose();
    }
}
