using Engine.Membership;
using Engine.Node;
using Engine.Protocol;
using Engine.Security;
using Engine.Transport;

namespace Engine.LoadGen.Verbs;

/// <summary>One attack's outcome: messages or connections tried, how many the peers refused, whether any peer's state changed.</summary>
internal sealed record AttackResult(string Name, string Network, long Attempts, long Refused, bool StateChanged, string How);

/// <summary>
/// The crypto material of a hostile run, made by the real cryptogen path (<see cref="CryptoMaterial.Generate"/>, backdated
/// 30 days so an expired certificate can be issued): Org1 and Org2 with 9 peers each (the network is peer0-7.Org1 and
/// peer0-1.Org2; peer8.Org1 is an insider key, peer2.Org2 a key of the other org), plus an untrusted org (Org3) and a
/// rogue CA that claims to be Org1, generated apart and trusted by nobody.
/// </summary>
internal sealed class HostileMaterial : IDisposable
{
    public const int Org1Members = 8;
    public const int Org2Members = 2;

    private HostileMaterial(string root)
    {
        Root = root;
        var backdated = new FixedTime(DateTimeOffset.UtcNow.AddDays(-30));
        CryptoMaterial.Generate(Path.Combine(root, "network"), ["Org1", "Org2"], peersPerOrg: 9, backdated);
        CryptoMaterial.Generate(Path.Combine(root, "untrusted"), ["Org3"], peersPerOrg: 1, backdated);
        CryptoMaterial.Generate(Path.Combine(root, "rogue"), ["Org1"], peersPerOrg: 1, backdated);
        for (int i = 0; i < Org1Members; i++)
        {
            Members.Add(Load("network", "Org1", i));
        }

        for (int i = 0; i < Org2Members; i++)
        {
            Members.Add(Load("network", "Org2", i));
        }

        Insider = Load("network", "Org1", 8);
        OtherOrg = Load("network", "Org2", 2);
        Orderer = Load("network", "Org2", 3);
        UnknownOrg = Load("untrusted", "Org3", 0);
        RogueCa = Load("rogue", "Org1", 0);
        using var ca = CryptoMaterial.LoadCertificateAuthority(Path.Combine(root, "network"), "Org1");
        Expired = ca.IssuePeer("peer7.Org1", new FixedTime(DateTimeOffset.UtcNow.AddDays(-20)), TimeSpan.FromDays(1));
    }

    public string Root { get; }

    /// <summary>The network's peers: Org1 first, then Org2.</summary>
    public List<PeerCredential> Members { get; } = [];

    public PeerCredential Insider { get; }

    public PeerCredential OtherOrg { get; }

    /// <summary>The orderer's TLS identity on sockets (the peers require mutual TLS on every connection).</summary>
    public PeerCredential Orderer { get; }

    public PeerCredential UnknownOrg { get; }

    public PeerCredential RogueCa { get; }

    public PeerCredential Expired { get; }

    public static HostileMaterial Create() =>
        new(Path.Combine(Path.GetTempPath(), $"engine-hostile-{Environment.ProcessId}-{Guid.NewGuid():N}"));

    public TrustStore Trust(TimeProvider time) => CryptoMaterial.LoadTrustStore(Path.Combine(Root, "network"), ["Org1", "Org2"], time);

    public void Dispose()
    {
        foreach (var credential in Members.Append(Insider).Append(OtherOrg).Append(Orderer).Append(UnknownOrg).Append(RogueCa).Append(Expired))
        {
            credential.Dispose();
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private PeerCredential Load(string set, string org, int index) =>
        CryptoMaterial.LoadPeer(CryptoMaterial.PeerDirectory(Path.Combine(Root, set), org, CryptoMaterial.PeerName(org, index)));

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

/// <summary>What the attacks build: signed envelopes of every kind, as an attacker holding the given keys would.</summary>
internal static class HostileMessages
{
    public static readonly byte[] Channel = "ch1"u8.ToArray();

    /// <summary>An alive envelope about <paramref name="about"/> (PKI-ID), signed with <paramref name="signer"/>'s key.</summary>
    public static byte[] Alive(PeerCredential signer, ReadOnlySpan<byte> about, PeerEndpoint endpoint, ulong inc, ulong seq, bool withIdentity)
    {
        using var messageSigner = new MessageSigner(signer);
        var fields = new AliveFields
        {
            PkiId = about,
            Endpoint = System.Text.Encoding.UTF8.GetBytes(endpoint.ToString()),
            IncNum = inc,
            SeqNum = seq,
            Identity = withIdentity ? signer.Identity : IdentityCodec.EncodeOrgOnly(signer.OrgId),
        };
        var buffer = new byte[AliveCodec.EnvelopeSize(fields, MessageSigner.MaxSignatureLength)];
        return buffer[..messageSigner.SealAlive(fields, buffer)];
    }

    /// <summary>A leadership declaration for <see cref="Channel"/> signed by <paramref name="signer"/>.</summary>
    public static byte[] Leadership(PeerCredential signer, ulong seq) => Seal(signer, new GossipMessage
    {
        Tag = GossipMessage.Types.Tag.ChanAndOrg,
        Channel = Google.Protobuf.ByteString.CopyFrom(Channel),
        LeadershipMsg = new LeadershipMessage
        {
            PkiId = Google.Protobuf.ByteString.CopyFrom(signer.PkiId.ToArray()),
            Timestamp = new Engine.Protocol.PeerTime { IncNum = 1, SeqNum = seq },
            IsDeclaration = true,
        },
    });

    /// <summary>A state info for <see cref="Channel"/> signed by <paramref name="signer"/>.</summary>
    public static byte[] StateInfo(PeerCredential signer, ulong seq) => Seal(signer, new GossipMessage
    {
        Tag = GossipMessage.Types.Tag.ChanOrOrg,
        Channel = Google.Protobuf.ByteString.CopyFrom(Channel),
        StateInfo = new StateInfo
        {
            PkiId = Google.Protobuf.ByteString.CopyFrom(signer.PkiId.ToArray()),
            Timestamp = new Engine.Protocol.PeerTime { IncNum = 1, SeqNum = seq },
            ChannelMAC = Google.Protobuf.ByteString.CopyFrom(new byte[32]),
        },
    });

    /// <summary>A membership request whose self information is <paramref name="selfAlive"/>.</summary>
    public static byte[] MembershipRequest(ReadOnlySpan<byte> selfAlive)
    {
        var frame = new byte[Discovery.MembershipMessages.RequestSize(selfAlive.Length)];
        return frame[..Discovery.MembershipMessages.WriteRequest(frame, selfAlive)];
    }

    /// <summary>A membership response listing <paramref name="entries"/> as alive members.</summary>
    public static byte[] MembershipResponse(IReadOnlyList<byte[]> entries)
    {
        int size = entries.Sum(e => Discovery.MembershipMessages.EntrySize(e.Length));
        var frame = new byte[Discovery.MembershipMessages.ResponseSize(size)];
        int position = Discovery.MembershipMessages.WriteResponseHeader(frame, size);
        foreach (var entry in entries)
        {
            position += Discovery.MembershipMessages.WriteEntryHeader(frame.AsSpan(position), dead: false, entry.Length);
            entry.CopyTo(frame, position);
            position += entry.Length;
        }

        return frame[..position];
    }

    /// <summary>A datagram body carrying one envelope.</summary>
    public static byte[] Datagram(ReadOnlySpan<byte> envelope)
    {
        var body = new byte[EnvelopeBatch.RecordSize(envelope.Length)];
        int written = 0;
        EnvelopeBatch.TryAppend(body, ref written, envelope);
        return body[..written];
    }

    private static byte[] Seal(PeerCredential signer, GossipMessage message)
    {
        using var messageSigner = new MessageSigner(signer);
        byte[] payload = Google.Protobuf.MessageExtensions.ToByteArray(message);
        var buffer = new byte[MessageSigner.SealedSize(payload.Length)];
        return buffer[..messageSigner.Seal(payload, buffer)];
    }
}

/// <summary>
/// What an attack must not change, as text to compare before and after: every peer's membership view (PKI-ID, endpoint,
/// state, and in memory the PeerTime) and, per channel it joined, its ledger height and (in memory) its leaders and
/// channel view.
/// </summary>
internal static class ViewSnapshot
{
    public static string Of(IEnumerable<GossipNode> nodes, bool withTime)
    {
        var text = new System.Text.StringBuilder();
        foreach (var node in nodes)
        {
            text.Append(node.Endpoint).Append(':');
            var view = node.GetMembership();
            foreach (var peer in view.Alive.Concat(view.Dead))
            {
                text.Append(' ').Append(peer.PkiId.AsSpan(0, 12)).Append('@').Append(peer.Endpoint).Append('/').Append(peer.State);
                if (withTime)
                {
                    text.Append('/').Append(peer.Time.IncNum).Append('.').Append(peer.Time.SeqNum);
                }
            }

            // Channels: the ledger height always (no block is cut during the attacks); leaders and the channel views only in
            // memory, where the clock is held still during an attack (on sockets a loaded machine may move them by itself).
            foreach (string channel in node.Channels)
            {
                var channelView = node.GetChannelView(channel);
                text.Append(" [").Append(channel).Append(" height ").Append(channelView.Height);
                if (withTime)
                {
                    text.Append(channelView.IsLeader ? " leads" : " follows").Append(" leaders");
                    foreach (var leader in channelView.Leaders)
                    {
                        text.Append(' ').Append(leader.PkiId.AsSpan(0, 12));
                    }

                    text.Append(" members");
                    foreach (var member in channelView.Members)
                    {
                        text.Append(' ').Append(member.PkiId.AsSpan(0, 12)).Append('@').Append(member.Height);
                    }
                }

                text.Append(']');
            }

            text.Append('\n');
        }

        return text.ToString();
    }
}
