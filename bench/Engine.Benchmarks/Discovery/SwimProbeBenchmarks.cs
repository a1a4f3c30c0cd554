using BenchmarkDotNet.Attributes;
using Engine.Discovery;
using Engine.Membership;
using Engine.Node;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Member = Engine.Membership.Member;
using MemberState = Engine.Membership.MemberState;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Benchmarks.Discovery;

/// <summary>
/// Swim mode's hot path as the node runs it: a PING datagram from a known member, carrying 10 piggybacked changes about
/// random known members (5 alive, 5 suspect, all at the times the table holds, so each is judged by the table and found
/// old), goes through the router; the strategy records the sender, applies the news, and answers with an ACK carrying
/// this peer's alive message and as many pending changes as fit (the queue is kept full: two members' news are
/// re-queued per operation, as joins and refutations keep arriving in a live network). The ACK goes to a transport that
/// discards it. One operation = one ping received and one ack sent.
/// </summary>
[MemoryDiagnoser]
public class SwimProbeBenchmarks : IDisposable
{
    private const int NewsPerPing = 10;
    private static readonly PeerEndpoint Sender = PeerEndpoint.FromIPv4(0x0B00_0000, 7051);

    private readonly byte[] _datagram = new byte[1400];
    private readonly byte[] _identity = OrgIdentity.Encode("Org1");
    private Member[] _members = [];
    private MessageRouter _router = null!;
    private DiscoveryService _discovery = null!;
    private SwimHeartbeatStrategy _swim = null!;
    private DiscardTransport _transport = null!;
    private int _length;
    private int _next;

    [Params(1_000, 100_000)]
    public int Members { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(17);
        var time = TimeProvider.System;
        var table = new MembershipTable(new MembershipOptions { MaxMembers = Members + 16, InitialCapacity = Members }, time, random);
        _members = new Member[Members];
        long now = time.GetTimestamp();
        for (int i = 0; i < Members; i++)
        {
            var pkiId = new byte[32];
            random.NextBytes(pkiId);
            var endpoint = PeerEndpoint.FromIPv4(0x0B00_0000u + (uint)i, 7051);
            var announcement = new MemberAnnouncement(new PeerTime(1, 0), MemberState.Alive, endpoint, default, "Org1");
            table.Update(pkiId, in announcement, now, out var member);
            _members[i] = member!;
        }

        var settings = new DiscoverySettings
        {
            OrgId = "Org1",
            PkiId = new byte[32],
            Endpoint = PeerEndpoint.FromIPv4(0x0A00_0001, 7051),
            Swim = new SwimSettings { RetransmitMultiplier = 100 },
        };
        _transport = new DiscardTransport();
        _discovery = new DiscoveryService(settings, _transport, table, time, NullLogger.Instance);
        _swim = _discovery.Swim!;
        _router = new MessageRouter(time);
        _router.Attach(_discovery);

        // Half of the news say "suspect": make those members suspect at the time they carry, so the news is old too.
        for (int i = 0; i < NewsPerPing; i += 2)
        {
            _discovery.RecordVerdict(_members[1 + i], new PeerTime(1, 0), MemberState.Suspect, now);
        }

        Encode();
        for (int i = 0; i < 512; i++)
        {
            _swim.OnRecorded(_members[random.Next(Members)], MembershipChange.Added, firstHand: true);
        }

        for (int i = 0; i < 1000; i++)
        {
            PingAndAck(); // warm the pools and the news queue's index
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _discovery?.Dispose();
        GC.SuppressFinalize(this);
    }

    private void Encode()
    {
        Span<byte> body = stackalloc byte[1388];
        Span<byte> endpoint = stackalloc byte[EndpointText.MaxLength];
        var sender = _discovery.MemberAliveFields(_members[0], new PeerTime(1, 0), endpoint);
        Span<byte> senderAlive = stackalloc byte[AliveCodec.MessageSize(sender)];
        AliveCodec.WriteMessage(senderAlive, sender);
        int position = SwimCodec.WriteHead(body, SwimKind.Ping, 42, senderAlive, default, default, default, 0);
        for (int i = 0; i < NewsPerPing; i++)
        {
            var member = _members[1 + i];
            if (i % 2 == 0)
            {
                SwimCodec.TryAppendVerdict(body, ref position, member.PkiId, MemberState.Suspect, new PeerTime(1, 0));
            }
            else
            {
                SwimCodec.TryAppendAlive(body, ref position, _discovery.MemberAliveFields(member, new PeerTime(1, 0), endpoint));
            }
        }

        int envelope = SwimCodec.EnvelopeSize(position);
        var w = new ProtoSpanWriter(_datagram);
        w.WriteVarint((ulong)envelope);
        int header = w.Position;
        SwimCodec.WriteEnvelope(_datagram.AsSpan(header), body[..position]);
        _length = header + envelope;
    }

    [Benchmark]
    public void PingAndAck()
    {
        _swim.OnRecorded(_members[_next], MembershipChange.Added, firstHand: true);
        _swim.OnRecorded(_members[_next + 1], MembershipChange.Added, firstHand: true);
        _next = (_next + 2) % (Members - 2);
        _router.OnDatagram(Sender, _datagram.AsSpan(0, _length));
    }
}
