using BenchmarkDotNet.Attributes;
using Engine.Gossip;
using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Engine.Transport.Memory;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Benchmarks.Gossip;

/// <summary>
/// Lazy push's hot paths: an emitter flush of a full batch of application data with announcements (10 messages × 3
/// copies + 3 digests each), an Announce of 10 messages already held (the common case: push got there first), and an
/// Announce of 10 missing messages through the grace period to the Want datagram.
/// </summary>
[MemoryDiagnoser]
public class LazyPushBenchmarks : IDisposable
{
    private readonly byte[][] _envelopes = new byte[10][];
    private readonly byte[] _announceHeld = new byte[1200];
    private readonly byte[] _announceMissing = new byte[1200];
    private readonly VirtualTimeProvider _time = new();
    private int _heldLength;
    private int _missingLength;
    private MembershipTable _table = null!;
    private PushEmitter _emitter = null!;
    private LazyRepair _repair = null!;
    private GossipRoute _route;

    private static readonly TimeSpan ForgetAfter = new LazyRepairOptions().ForgetAfter;

    [GlobalSetup]
    public void Setup()
    {
        _table = PushFixture.Members();
        _route = PushFixture.Route();
        var sink = PushFixture.Sink();
        _emitter = new PushEmitter(new PushOptions { BurstLatency = TimeSpan.FromHours(1), LazyPeerNum = 3 }, sink, _table, TimeProvider.System);
        _emitter.Start();

        var store = new MessageStore(new MessageStoreOptions { MaxEntries = 1024 }, _time, new Random(2));
        var origin = new byte[32];
        origin[0] = 9;
        var data = new byte[200];
        var digest = new byte[MessageId.MaxDigestLength];
        for (int i = 0; i < 10; i++)
        {
            var fields = new AppDataFields { PkiId = origin, IncNum = 1, SeqNum = (ulong)i + 1, Data = data };
            _envelopes[i] = new byte[AppDataCodec.EnvelopeSize(fields)];
            AppDataCodec.Write(_envelopes[i], fields);
            MessageIdentity.TryRead(_envelopes[i], out var id);
            store.Add(in id, _envelopes[i]);
            DigestListCodec.AppendDigest(_announceHeld, ref _heldLength, digest.AsSpan(0, id.WriteDigest(digest)));
            var missing = MessageId.ForAppData(origin, 2, (ulong)i + 1);
            DigestListCodec.AppendDigest(_announceMissing, ref _missingLength, digest.AsSpan(0, missing.WriteDigest(digest)));
        }

        _repair = new LazyRepair(new LazyRepairOptions(), store, sink, _time, new Random(3));
        _repair.Start();
        FlushFullBatchWithAnnouncements();
        AnnounceMissingThenWant();
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _emitter?.Dispose();
        _repair?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Ten adds of application data; the tenth flushes: 30 copies and 30 announced digests.</summary>
    [Benchmark]
    public void FlushFullBatchWithAnnouncements()
    {
        for (int i = 0; i < 10; i++)
        {
            _emitter.Add(_envelopes[i], in _route);
        }
    }

    /// <summary>An Announce of ten messages this peer holds: ten store checks, nothing waits.</summary>
    [Benchmark]
    public void AnnounceHeld() => _repair.OnAnnounce(PeerEndpoint.FromIPv4(0x0A000005u, 7051), _announceHeld.AsSpan(0, _heldLength));

    /// <summary>
    /// An Announce of ten missing messages, the grace period, the tick that sends their Want, and the tick that forgets
    /// them (<see cref="LazyRepairOptions.ForgetAfter"/> later: until then they are remembered as asked).
    /// </summary>
    [Benchmark]
    public void AnnounceMissingThenWant()
    {
        _repair.OnAnnounce(PeerEndpoint.FromIPv4(0x0A000005u, 7051), _announceMissing.AsSpan(0, _missingLength));
        _time.Advance(TimeSpan.FromMilliseconds(25));
        _repair.Tick();
        _time.Advance(ForgetAfter);
        _repair.Tick();
    }
}
