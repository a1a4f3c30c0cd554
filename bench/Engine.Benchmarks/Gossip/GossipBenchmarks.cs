using BenchmarkDotNet.Attributes;
using Engine.Gossip;
using Engine.Membership;
using Engine.Transport;

namespace Engine.Benchmarks.Gossip;

/// <summary>
/// The message store's receive-path operations at 1 M held blocks: the "seen before?" check of a held message, the add
/// of a duplicate, and the add of a new message into a full store (which evicts the oldest).
/// </summary>
[MemoryDiagnoser]
public class MessageStoreBenchmarks
{
    private static readonly byte[] Channel = "ch1"u8.ToArray();
    private readonly byte[] _envelope = new byte[200];
    private MessageStore _store = null!;
    private ulong _random = 0x2545F4914F6CDD1DUL;
    private ulong _next;

    [Params(1_000_000)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _store = new MessageStore(new MessageStoreOptions { MaxEntries = Entries, MaxBytes = (long)Entries * 512, TimeToLive = TimeSpan.FromDays(1) }, TimeProvider.System, new Random(1));
        for (ulong i = 0; i < (ulong)Entries; i++)
        {
            var id = MessageId.ForBlock(Channel, i);
            _store.Add(in id, _envelope);
        }

        _next = (ulong)Entries;
    }

    private ulong RandomHeld()
    {
        _random ^= _random << 13;
        _random ^= _random >> 7;
        _random ^= _random << 17;
        return (_next - (ulong)Entries) + (_random % (ulong)Entries);
    }

    [Benchmark]
    public int Check()
    {
        var id = MessageId.ForBlock(Channel, RandomHeld());
        return (int)_store.Check(in id);
    }

    [Benchmark]
    public int AddDuplicate()
    {
        var id = MessageId.ForBlock(Channel, RandomHeld());
        return (int)_store.Add(in id, _envelope);
    }

    [Benchmark]
    public int AddNewEvictingOldest()
    {
        var id = MessageId.ForBlock(Channel, _next++);
        return (int)_store.Add(in id, _envelope);
    }
}

/// <summary>Pull digests at 10 k items: the responder's build (from the store) and the initiator's merge (into the missing set).</summary>
[MemoryDiagnoser]
public class DigestBenchmarks
{
    private static readonly byte[] Channel = "ch1"u8.ToArray();
    private readonly DigestSet _build = new(16_384);
    private readonly DigestSet _merge = new(16_384);
    private MessageStore _store = null!;
    private byte[][] _remote = [];

    [Params(10_000)]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _store = new MessageStore(new MessageStoreOptions { MaxEntries = Items * 2, TimeToLive = TimeSpan.FromDays(1) }, TimeProvider.System, new Random(1));
        var envelope = new byte[100];
        _remote = new byte[Items][];
        for (ulong i = 0; i < (ulong)Items; i++)
        {
            var id = MessageId.ForBlock(Channel, i);
            _store.Add(in id, envelope);
            _remote[i] = new byte[id.DigestLength];
            id.WriteDigest(_remote[i]);
        }

        Build();
        Merge();
    }

    [Benchmark]
    public int Build()
    {
        _build.Clear();
        return _store.CollectDigests(MessageKind.Block, _build, int.MaxValue, default(IncludeAllDigests));
    }

    [Benchmark]
    public int Merge()
    {
        _merge.Clear();
        foreach (var digest in _remote)
        {
            int index = _merge.AddOrGet(digest, out _);
            _merge.Aux(index)++;
        }

        return _merge.Count;
    }
}

/// <summary>Push peer selection (k = 3 of 1,000 members, never the sender) and an emitter flush of a full batch (10 messages × 3 peers).</summary>
[MemoryDiagnoser]
public class PushBenchmarks : IDisposable
{
    private readonly Member[] _targets = new Member[3];
    private readonly byte[] _envelope = new byte[300];
    private MembershipTable _table = null!;
    private PushEmitter _emitter = null!;
    private GossipRoute _route;

    [GlobalSetup]
    public void Setup()
    {
        _table = PushFixture.Members();
        _route = PushFixture.Route();
        _emitter = new PushEmitter(new PushOptions { BurstLatency = TimeSpan.FromHours(1) }, PushFixture.Sink(), _table, TimeProvider.System);
        _emitter.Start();
        FlushFullBatch();
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _emitter?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public int SelectPeers() => RouteSampler.Sample(_table, in _route, PeerEndpoint.FromIPv4(0x0A000002u, 7051), _targets);

    /// <summary>Ten adds; the tenth flushes: 30 copies packed into 3 datagrams per distinct peer set.</summary>
    [Benchmark]
    public void FlushFullBatch()
    {
        for (int i = 0; i < 10; i++)
        {
            _emitter.Add(_envelope, in _route);
        }
    }
}
