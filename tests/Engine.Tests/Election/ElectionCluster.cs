using System.Buffers;
using Engine.Election;
using Engine.Transport;
using Engine.Transport.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Tests.Election;

/// <summary>
/// A test fixture: peers of one or more orgs, each with a <see cref="LeaderElectionService"/> per channel over a
/// <see cref="MemoryTransport"/> on a virtual-time <see cref="MemoryNetwork"/> (seeded delays). The adapter stands in
/// for the node: it encodes leadership envelopes with <see cref="LeadershipCodec"/> and sends them as frames to every
/// running peer of its org in the channel that it can reach (its view), and decodes frames into
/// <see cref="LeaderElectionService.HandleMessage(in LeadershipFields)"/>. The view is exact and immediate (discovery
/// is not under test here): a peer sees the running peers of its org on its side of any partition.
/// </summary>
internal sealed class ElectionCluster
{
    private readonly Random _random;

    public ElectionCluster(int seed, ElectionOptions? options = null, TimeSpan? delay = null, ILoggerFactory? loggers = null)
    {
        _random = new Random(seed);
        Options = options ?? new ElectionOptions();
        Loggers = loggers;
        var policy = NetworkPolicy.Perfect(seed);
        policy.Delay = delay ?? TimeSpan.FromMilliseconds(5);
        policy.Jitter = policy.Delay / 2;
        Network = new MemoryNetwork(policy, Time);
    }

    public VirtualTimeProvider Time { get; } = new();

    public MemoryNetwork Network { get; }

    public ElectionOptions Options { get; }

    public ILoggerFactory? Loggers { get; }

    public List<ElectionPeer> Peers { get; } = [];

    /// <summary>Leadership changes in order: (time, peer, became leader).</summary>
    public List<(DateTimeOffset At, ElectionPeer Peer, bool Leader)> History { get; } = [];

    /// <summary>Adds a peer with a random 32-byte PKI-ID (or the given one); started unless told otherwise.</summary>
    public ElectionPeer AddPeer(string org = "Org1", byte[]? pkiId = null, ElectionOptions? options = null, bool start = true, params string[] channels)
    {
        if (pkiId is null)
        {
            pkiId = new byte[32];
            _random.NextBytes(pkiId);
        }

        var peer = new ElectionPeer(this, $"peer{Peers.Count}.{org.ToLowerInvariant()}", org, pkiId, options ?? Options, channels.Length == 0 ? ["mychannel"] : channels);
        Peers.Add(peer);
        if (start)
        {
            peer.Start();
        }

        return peer;
    }

    public List<ElectionPeer> AddPeers(int count, string org = "Org1")
    {
        var added = new List<ElectionPeer>();
        for (int i = 0; i < count; i++)
        {
            added.Add(AddPeer(org));
        }

        return added;
    }

    public void Run(TimeSpan duration) => Time.Advance(duration);

    public List<ElectionPeer> Leaders(string org = "Org1", string channel = "mychannel") =>
        Peers.Where(p => p.Running && p.Org == org && p.Election(channel).IsLeader).ToList();

    public static ElectionPeer Lowest(IEnumerable<ElectionPeer> peers) =>
        peers.OrderBy(p => p.PkiId, ByteOrder.Instance).First();

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    internal sealed class ElectionPeer : ITransportHandler
    {
        private readonly ElectionCluster _cluster;
        private readonly Dictionary<string, LeaderElectionService> _elections = [];
        private readonly ElectionOptions _options;
        private readonly string[] _channels;

        public ElectionPeer(ElectionCluster cluster, string name, string org, byte[] pkiId, ElectionOptions options, string[] channels)
        {
            _cluster = cluster;
            _options = options;
            _channels = channels;
            Name = name;
            Org = org;
            PkiId = pkiId;
            Transport = cluster.Network.CreateTransport();
        }

        public string Name { get; }

        public string Org { get; }

        public byte[] PkiId { get; }

        public MemoryTransport Transport { get; private set; }

        public PeerEndpoint Endpoint => Transport.LocalEndpoint;

        public bool Running { get; private set; }

        public long MalformedFrames { get; private set; }

        public LeaderElectionService Election(string channel = "mychannel") => _elections[channel];

        public void Start()
        {
            if (Transport.IsDisposed)
            {
                Transport = _cluster.Network.CreateTransport(Endpoint);
            }

            Transport.StartAsync(this).AsTask().GetAwaiter().GetResult();
            _elections.Clear();
            foreach (string channel in _channels)
            {
                var logger = _cluster.Loggers?.CreateLogger($"Election.{Name}") ?? NullLogger.Instance;
                var election = new LeaderElectionService(PkiId, Name, Org, channel, _options, new Adapter(this, channel), _cluster.Time, logger,
                    leader => _cluster.History.Add((_cluster.Time.GetUtcNow(), this, leader)));
                _elections.Add(channel, election);
            }

            Running = true;
            foreach (var election in _elections.Values)
            {
                election.Start();
            }
        }

        /// <summary>Crash: the elections and the transport stop at once.</summary>
        public void Stop()
        {
            Running = false;
            foreach (var election in _elections.Values)
            {
                election.Dispose();
            }

            Transport.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        public IEnumerable<ElectionPeer> View(string channel) =>
            _cluster.Peers.Where(p => p != this && p.Running && p.Org == Org && p._channels.Contains(channel) && _cluster.Network.CanReach(Endpoint, p.Endpoint));

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload) => MalformedFrames++;

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
            byte[] bytes = payload.ToArray();
            if (!LeadershipCodec.TryParseEnvelope(bytes, out var channel, out var fields) ||
                !_elections.TryGetValue(System.Text.Encoding.UTF8.GetString(channel), out var election))
            {
                MalformedFrames++;
                return;
            }

            election.HandleMessage(in fields);
        }

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
        }

        public override string ToString() => Name;

        private sealed class Adapter(ElectionPeer owner, string channel) : ILeaderElectionAdapter
        {
            private readonly byte[] _channel = System.Text.Encoding.UTF8.GetBytes(channel);

            public int PeerCount => owner.View(channel).Count();

            public void Gossip(in LeadershipFields message)
            {
                var buffer = new byte[LeadershipCodec.EnvelopeSize(_channel, message, 0)];
                int written = LeadershipCodec.WritePayload(buffer, _channel, message, out _);
                Assert.That(written, Is.EqualTo(buffer.Length));
                foreach (var peer in owner.View(channel).ToList())
                {
                    owner.Transport.SendFrame(peer.Endpoint, buffer);
                }
            }

            public bool IsAlive(ReadOnlySpan<byte> pkiId)
            {
                foreach (var peer in owner.View(channel))
                {
                    if (pkiId.SequenceEqual(peer.PkiId))
                    {
                        return true;
                    }
                }

                return false;
            }
        }
    }
}
