using BenchmarkDotNet.Attributes;
using Engine.Discovery;
using Engine.Membership;
using Engine.Node;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Benchmarks.Discovery;

/// <summary>
/// The heartbeat receive path as the node runs it: a datagram of 10 packed alive envelopes about 10 random known
/// members goes through the router (record split, envelope and alive decode, endpoint and org parse), the membership
/// table's compare-and-swap, the flooding strategy's sample of 3 peers (not the sender, not the origin) and the emitter's
/// per-peer packing, whose datagrams go to a transport that discards them. Figures are per heartbeat
/// (OperationsPerInvoke = 10). <c>Fresh</c> re-encodes the datagram with the next seq_num first (included: about a
/// tenth of the cost), so every heartbeat is news and is forwarded; <c>Stale</c> replays one datagram, so every
/// heartbeat is judged old and dropped.
/// </summary>
[MemoryDiagnoser]
public class HeartbeatReceiveBenchmarks : IDisposable
{
    private const int PerDatagram = 10;
    private static readonly PeerEndpoint Sender = PeerEndpoint.FromIPv4(0x0A00_0002, 7051);

    private readonly byte[] _datagram = new byte[1400];
    private readonly byte[] _identity = OrgIdentity.Encode("Org1");
    private byte[][] _pkiIds = [];
    private byte[][] _endpoints = [];
    private int[] _picks = [];
    private MessageRouter _router = null!;
    private DiscoveryService _discovery = null!;
    private int _length;
    private ulong _seq = 1;

    [Params(1_000, 100_000)]
    public int Members { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(11);
        var time = TimeProvider.System;
        var table = new MembershipTable(new MembershipOptions { MaxMembers = Members + 16, InitialCapacity = Members }, time, random);
        _pkiIds = new byte[Members][];
        _endpoints = new byte[Members][];
        long now = time.GetTimestamp();
        for (int i = 0; i < Members; i++)
        {
            _pkiIds[i] = new byte[32];
            random.NextBytes(_pkiIds[i]);
            var endpoint = PeerEndpoint.FromIPv4(0x0B00_0000u + (uint)i, 7051);
            _endpoints[i] = EndpointText.ToUtf8(endpoint);
            var announcement = new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, endpoint, default, "Org1");
            table.Update(_pkiIds[i], in announcement, now, out _);
        }

        _picks = Enumerable.Range(0, 4096).Select(_ => random.Next(Members)).ToArray();
        var settings = new DiscoverySettings { OrgId = "Org1", PkiId = new byte[32], Endpoint = PeerEndpoint.FromIPv4(0x0A00_0001, 7051) };
        _discovery = new DiscoveryService(settings, new DiscardTransport(), table, time, NullLogger.Instance);
        _router = new MessageRouter(time);
        _router.Attach(_discovery);
        Encode();
        for (int i = 0; i < 1000; i++)
        {
            Fresh(); // warm the emitter's per-peer buffers and the org cache
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
        _seq++;
        int written = 0;
        Span<byte> envelope = stackalloc byte[256];
        int offset = (int)(_seq * PerDatagram % (ulong)_picks.Length);
        for (int i = 0; i < PerDatagram; i++)
        {
            int member = _picks[(offset + i) % _picks.Length];
            var fields = new AliveFields { PkiId = _pkiIds[member], Endpoint = _endpoints[member], IncNum = 1, SeqNum = _seq, Identity = _identity };
            int length = AliveCodec.Write(envelope, fields, default);
            EnvelopeBatch.TryAppend(_datagram, ref written, envelope[..length]);
        }

        _length = written;
    }

    [Benchmark(OperationsPerInvoke = PerDatagram)]
    public void Fresh()
    {
        Encode();
        _router.OnDatagram(Sender, _datagram.AsSpan(0, _length));
    }

    [Benchmark(OperationsPerInvoke = PerDatagram)]
    public void Stale() => _router.OnDatagram(Sender, _datagram.AsSpan(0, _length));
}
