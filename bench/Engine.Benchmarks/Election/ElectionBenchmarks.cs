using BenchmarkDotNet.Attributes;
using Engine.Election;

namespace Engine.Benchmarks.Election;

/// <summary>
/// Election message handling: decode a leadership envelope (<see cref="LeadershipCodec"/>) and hand it to a running
/// election whose view holds 20 peers of the org — a declaration from the leader, and a proposal.
/// </summary>
[MemoryDiagnoser]
public class ElectionBenchmarks : IDisposable
{
    private static readonly byte[] Channel = "mychannel"u8.ToArray();
    private byte[] _declaration = [];
    private byte[] _proposal = [];
    private LeaderElectionService _election = null!;

    [GlobalSetup]
    public void Setup()
    {
        var peers = new byte[20][];
        var random = new Random(1);
        for (int i = 0; i < peers.Length; i++)
        {
            peers[i] = new byte[32];
            random.NextBytes(peers[i]);
        }

        var self = new byte[32];
        random.NextBytes(self);
        _declaration = Encode(peers[7], isDeclaration: true);
        _proposal = Encode(peers[13], isDeclaration: false);
        var options = new ElectionOptions { MembershipSampleInterval = TimeSpan.FromHours(1), StartupGracePeriod = TimeSpan.FromHours(2) };
        _election = new LeaderElectionService(self, "bench", "Org1", "mychannel", options, new View(peers), TimeProvider.System);
        _election.Start();
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        _election?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public bool HandleDeclaration() => Handle(_declaration);

    [Benchmark]
    public bool HandleProposal() => Handle(_proposal);

    private bool Handle(byte[] envelope)
    {
        if (!LeadershipCodec.TryParseEnvelope(envelope, out _, out var fields))
        {
            return false;
        }

        _election.HandleMessage(in fields);
        return fields.IsDeclaration;
    }

    private static byte[] Encode(byte[] pkiId, bool isDeclaration)
    {
        var fields = new LeadershipFields { PkiId = pkiId, IncNum = 1_700_000_000_000_000_000, SeqNum = 42, IsDeclaration = isDeclaration };
        var buffer = new byte[LeadershipCodec.EnvelopeSize(Channel, fields, 0)];
        LeadershipCodec.WritePayload(buffer, Channel, fields, out _);
        return buffer;
    }

    private sealed class View(byte[][] peers) : ILeaderElectionAdapter
    {
        public int PeerCount => peers.Length;

        public void Gossip(in LeadershipFields message)
        {
        }

        public bool IsAlive(ReadOnlySpan<byte> pkiId)
        {
            foreach (byte[] peer in peers)
            {
                if (pkiId.SequenceEqual(peer))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
