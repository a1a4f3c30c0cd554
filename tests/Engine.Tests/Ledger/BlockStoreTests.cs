using System.Buffers;
using Engine.Ledger;
using Engine.Protocol;
using Engine.Tests.Discovery;
using Engine.Transport;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using static Engine.Tests.Ledger.LedgerTestKit;

namespace Engine.Tests.Ledger;

[TestFixture]
public sealed class BlockStoreTests : IDisposable
{
    private static readonly string[] TwoOrgNames = ["Org1", "Org2"];

    private readonly List<ulong> _commits = [];
    private readonly List<byte[]> _committedBytes = [];
    private CapturingLoggerFactory _loggers = null!;

    public void Dispose() => _loggers.Dispose();

    [SetUp]
    public void SetUp()
    {
        _commits.Clear();
        _committedBytes.Clear();
        _loggers = new CapturingLoggerFactory();
    }

    private BlockStore Join(LedgerOptions? options = null, ChannelConfiguration? config = null) =>
        BlockStore.Join(Genesis(config), options ?? new LedgerOptions(), logger: _loggers.CreateLogger("Ledger"), peerName: "peer0.org1", committed: OnCommitted);

    private void OnCommitted(in CommittedBlock block)
    {
        _commits.Add(block.Number);
        _committedBytes.Add(block.Envelope.ToArray());
    }

    [Test]
    public void Join_CommitsTheGenesisBlock_AndLogsTheAnchorsOfEveryOrg()
    {
        using var store = Join(config: Config(("Org1", ["127.0.0.1:7051"]), ("Org2", [])));

        Assert.That(store.ChannelId, Is.EqualTo(Channel));
        Assert.That(store.Height, Is.EqualTo(1UL));
        Assert.That(_commits, Is.EqualTo(Enumerable.Repeat(0UL, 1)));
        Assert.That(store.Config.AnchorsOf("Org1"), Is.EqualTo(new[] { PeerEndpoint.Parse("127.0.0.1:7051") }));
        Assert.That(store.Config.AnchorsOf("Org2"), Is.Empty);
        Assert.That(_loggers.Messages(6100).Single(), Is.EqualTo("Peer peer0.org1 joined channel mychannel: genesis block committed, height 1, orgs Org1, Org2"));
        Assert.That(_loggers.Messages(6104).Single(), Is.EqualTo("anchor peers of Org1 in mychannel: 127.0.0.1:7051"));
        Assert.That(_loggers.Messages(6105).Single(), Is.EqualTo("no anchor peers configured for Org2 in mychannel"));
    }

    [Test]
    public void PretouchBytes_ReservesLedgerMemoryAtJoin_LogsIt_AndBlocksStillCommit()
    {
        using var store = Join(new LedgerOptions { PretouchBytes = 3 * 1024 * 1024 });
        Assert.That(_loggers.Messages(6108).Single(), Does.Match(@"^Peer peer0\.org1 pre-touched [23] ledger chunks \(\d+ bytes\) for mychannel in \d+ ms$"));
        for (ulong n = 1; n <= 60; n++)
        {
            Assert.That(store.Offer(Block(n, 65536), Source), Is.EqualTo(OfferResult.Committed));
        }

        Assert.That(store.Height, Is.EqualTo(61UL));
    }

    [Test]
    public void PretouchBytes_BeyondWhatAStoreCanHold_IsAClearError()
    {
        var options = new LedgerOptions { PretouchBytes = new LedgerOptions().MaxMemoryBytes + 1 };
        Assert.That(Assert.Throws<ArgumentException>(options.Validate)!.Message, Does.Contain("PretouchBytes must be between 0 and the most a store can hold"));
        Assert.That(() => new LedgerOptions { PretouchBytes = -1 }.Validate(), Throws.ArgumentException);
    }

    [Test]
    public void InOrder_EveryBlockCommitsAtOnce()
    {
        using var store = Join();
        for (ulong n = 1; n <= 50; n++)
        {
            Assert.That(store.Offer(Block(n), Source), Is.EqualTo(OfferResult.Committed));
            Assert.That(store.Height, Is.EqualTo(n + 1));
        }

        Assert.That(_commits, Is.EqualTo(Enumerable.Range(0, 51).Select(i => (ulong)i)));
        Assert.That(_committedBytes[7], Is.EqualTo(Block(7)), "the committed bytes are the offered envelope");
        Assert.That(store.GetStatistics().BufferedNow, Is.Zero);
    }

    [Test]
    public void OutOfOrder_WithinTheBuffer_IsHeldAndCommittedInSequence([Values(1, 2, 3)] int seed)
    {
        using var store = Join();
        var order = Enumerable.Range(1, 20).Select(i => (ulong)i).ToArray();
        new Random(seed).Shuffle(order);

        foreach (ulong n in order)
        {
            var result = store.Offer(Block(n), Source);
            Assert.That(result, Is.AnyOf(OfferResult.Committed, OfferResult.Buffered));
        }

        Assert.That(store.Height, Is.EqualTo(21UL));
        Assert.That(_commits, Is.EqualTo(Enumerable.Range(0, 21).Select(i => (ulong)i)), "strictly in sequence");
        for (int n = 1; n <= 20; n++)
        {
            Assert.That(_committedBytes[n], Is.EqualTo(Block((ulong)n)));
        }

        var stats = store.GetStatistics();
        Assert.That(stats.BufferedNow, Is.Zero);
        Assert.That(stats.Committed, Is.EqualTo(21));
    }

    [Test]
    public void EarlyBlocks_WaitForTheMissingOne()
    {
        using var store = Join();
        Assert.That(store.Offer(Block(3), Source), Is.EqualTo(OfferResult.Buffered));
        Assert.That(store.Offer(Block(2), Source), Is.EqualTo(OfferResult.Buffered));
        Assert.That(store.Height, Is.EqualTo(1UL), "block 1 is missing: nothing commits");
        Assert.That(store.Wants(1), Is.True);
        Assert.That(store.Wants(2), Is.False, "already buffered");

        Assert.That(store.Offer(Block(1), Source), Is.EqualTo(OfferResult.Committed));
        Assert.That(store.Height, Is.EqualTo(4UL));
        Assert.That(_commits, Is.EqualTo(new ulong[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void Duplicates_OfCommittedAndOfBufferedBlocks_AreDroppedAndCounted()
    {
        using var store = Join();
        store.Offer(Block(1), Source);
        store.Offer(Block(5), Source);

        Assert.That(store.Offer(Block(1), Source), Is.EqualTo(OfferResult.Duplicate));
        Assert.That(store.Offer(Genesis(), Source), Is.EqualTo(OfferResult.Duplicate));
        Assert.That(store.Offer(Block(5), Source), Is.EqualTo(OfferResult.Duplicate));
        Assert.That(_commits, Is.EqualTo(new ulong[] { 0, 1 }));
        Assert.That(store.GetStatistics().Duplicates, Is.EqualTo(3));
    }

    [Test]
    public void GapBeyondTheBuffer_IsRefusedCountedAndLogged_ThenAcceptedWhenItsTurnIsNear()
    {
        using var store = Join(new LedgerOptions { BlockBufferSize = 20 });

        // Height 1: the buffer holds blocks 1..20; 21 is one too far.
        Assert.That(store.Offer(Block(20), Source), Is.EqualTo(OfferResult.Buffered));
        Assert.That(store.Offer(Block(21), Source), Is.EqualTo(OfferResult.TooFarAhead));
        Assert.That(store.Offer(Block(1_000_000), Source), Is.EqualTo(OfferResult.TooFarAhead));
        Assert.That(store.Wants(21), Is.False);
        var stats = store.GetStatistics();
        Assert.That(stats.TooFarAhead, Is.EqualTo(2));
        Assert.That(stats.BufferedNow, Is.EqualTo(1));
        Assert.That(_loggers.Messages(6106).First(),
            Is.EqualTo("Peer peer0.org1 refused block 21 of mychannel from 10.0.0.9:7051: it is beyond the reorder buffer (height 1, buffer 20 blocks) (0 similar lines suppressed)"));

        Assert.That(store.Offer(Block(1), Source), Is.EqualTo(OfferResult.Committed));
        Assert.That(store.Offer(Block(21), Source), Is.EqualTo(OfferResult.Buffered), "height 2: 21 is now within the buffer");
    }

    [Test]
    public void Window_KeepsOnlyTheLastMaxBlockCountToStoreCommittedBlocks()
    {
        using var store = Join(new LedgerOptions { MaxBlockCountToStore = 10, ArchiveBlockCount = 0 });
        for (ulong n = 1; n <= 30; n++)
        {
            store.Offer(Block(n, bytes: 100 + (int)n), Source);
        }

        Span<ulong> numbers = stackalloc ulong[32];
        int count = store.CopyWindow(numbers);
        Assert.That(numbers[..count].ToArray(), Is.EqualTo(Enumerable.Range(21, 10).Select(i => (ulong)i)));
        Assert.That(store.GetStatistics().WindowCount, Is.EqualTo(10));
        for (ulong n = 0; n <= 31; n++)
        {
            var writer = new ArrayBufferWriter<byte>();
            bool held = store.TryCopyBlock(n, writer);
            Assert.That(held, Is.EqualTo(n is >= 21 and <= 30), $"block {n}");
            if (held)
            {
                Assert.That(writer.WrittenSpan.ToArray(), Is.EqualTo(Block(n, bytes: 100 + (int)n)));
            }
        }
    }

    [Test]
    public void Archive_KeepsTheLastArchiveBlockCountBlocks_ForStateTransfer_WhilePullShowsTheWindowOnly()
    {
        using var store = Join(new LedgerOptions { MaxBlockCountToStore = 10, ArchiveBlockCount = 100 });
        for (ulong n = 1; n <= 250; n++)
        {
            Assert.That(store.Offer(Block(n, bytes: 100 + (int)(n % 7)), Source), Is.EqualTo(OfferResult.Committed));
        }

        var stats = store.GetStatistics();
        Assert.That((stats.ArchivedCount, stats.OldestHeld, stats.WindowCount), Is.EqualTo((100, 151UL, 10)));
        Span<ulong> numbers = stackalloc ulong[32];
        Assert.That(numbers[..store.CopyWindow(numbers)].ToArray(), Is.EqualTo(Enumerable.Range(241, 10).Select(i => (ulong)i)));
        for (ulong n = 140; n <= 252; n++)
        {
            var writer = new ArrayBufferWriter<byte>();
            bool held = store.TryCopyBlock(n, writer);
            Assert.That(held, Is.EqualTo(n is >= 151 and <= 250), $"block {n}");
            if (held)
            {
                Assert.That(writer.WrittenSpan.ToArray(), Is.EqualTo(Block(n, bytes: 100 + (int)(n % 7))), $"block {n}");
            }
        }

        Assert.That(store.InWindow(240), Is.False);
        Assert.That(store.InWindow(241), Is.True);
    }

    [Test]
    public void Archive_StaysWithinArchiveBytes_AndAlwaysKeepsTheWindow()
    {
        // 1 KiB blocks, 64 KiB of archive: about 60 blocks held, never more bytes than that, whatever the count bound.
        var options = new LedgerOptions { MaxBlockCountToStore = 10, ArchiveBlockCount = 1000, ArchiveBytes = 64 * 1024 };
        using var store = Join(options);
        int envelope = Block(1, bytes: 1024).Length;
        for (ulong n = 1; n <= 3000; n++)
        {
            store.Offer(Block(n, bytes: 1024), Source);
            Assert.That(store.GetStatistics().ArchivedBytes, Is.LessThanOrEqualTo(options.ArchiveBytes), $"after block {n}");
        }

        var stats = store.GetStatistics();
        Assert.That(stats.ArchivedCount, Is.InRange(60, 64 * 1024 / envelope));
        Assert.That(stats.ArchivedBytes + envelope, Is.GreaterThan(options.ArchiveBytes), "as many as fit");
        Assert.That(stats.OldestHeld, Is.EqualTo(3001UL - (ulong)stats.ArchivedCount));

        // Blocks so large that the window alone is over the byte bound: the window stays, nothing older does.
        using var big = Join(new LedgerOptions { MaxBlockCountToStore = 10, ArchiveBlockCount = 1000, ArchiveBytes = 64 * 1024 });
        for (ulong n = 1; n <= 50; n++)
        {
            big.Offer(Block(n, bytes: 16 * 1024), Source);
        }

        Assert.That((big.GetStatistics().ArchivedCount, big.GetStatistics().OldestHeld), Is.EqualTo((10, 41UL)));
    }

    [Test]
    public void Archive_MemoryBound_IsPartOfMaxMemoryBytes_AndBadValuesAreRefused()
    {
        var options = new LedgerOptions();
        Assert.That(options.MaxMemoryBytes, Is.EqualTo((20L * options.MaxBlockBytes) + (256L * 1024 * 1024)));
        Assert.That(() => new LedgerOptions { ArchiveBlockCount = -1 }.Validate(), Throws.ArgumentException.With.Message.Contains("ArchiveBlockCount"));
        Assert.That(() => new LedgerOptions { ArchiveBytes = -1 }.Validate(), Throws.ArgumentException.With.Message.Contains("ArchiveBytes"));
    }

    [Test]
    public void Window_BeforeItFills_HoldsEverythingCommitted()
    {
        using var store = Join();
        store.Offer(Block(1), Source);
        store.Offer(Block(2), Source);
        Span<ulong> numbers = stackalloc ulong[16];
        Assert.That(numbers[..store.CopyWindow(numbers)].ToArray(), Is.EqualTo(new ulong[] { 0, 1, 2 }));
    }

    [Test]
    public void ConfigBlock_UpdatesTheAnchors_WhenCommitted_NotBefore()
    {
        using var store = Join();
        var update = store.Config.WithAnchors("Org1", [PeerEndpoint.Parse("127.0.0.1:7051")]);

        Assert.That(store.Offer(BlockCodec.EncodeConfig(2, update), Source), Is.EqualTo(OfferResult.Buffered));
        Assert.That(store.Config.AnchorsOf("Org1"), Is.Empty, "a buffered config block is not in force");

        store.Offer(Block(1), Source);
        Assert.That(store.Height, Is.EqualTo(3UL));
        Assert.That(store.Config.AnchorsOf("Org1"), Is.EqualTo(new[] { PeerEndpoint.Parse("127.0.0.1:7051") }));
        Assert.That(store.Config.AnchorsOf("Org2"), Is.Empty);
        Assert.That(_loggers.Messages(6103).Last(), Is.EqualTo("Peer peer0.org1 committed config block 2 of mychannel: mychannel: Org1 [127.0.0.1:7051]; Org2 []"));
        Assert.That(_loggers.Messages(6104).Single(), Is.EqualTo("anchor peers of Org1 in mychannel: 127.0.0.1:7051"));
    }

    [Test]
    public void BadGenesisBlocks_AreRefusedWithAClearError()
    {
        var logger = _loggers.CreateLogger("Ledger");
        var notZero = BlockCodec.EncodeConfig(3, TwoOrgs());
        var ordinary = BlockCodec.Encode(ChannelBytes, 0, [1, 2, 3]);
        var otherChannel = BlockCodec.Encode("other"u8, 0, []);

        Assert.That(Assert.Throws<InvalidDataException>(() => BlockStore.Join(notZero, new LedgerOptions(), logger: logger))!.Message,
            Is.EqualTo("Invalid genesis block: it is block 3, not block 0."));
        Assert.That(Assert.Throws<InvalidDataException>(() => BlockStore.Join(ordinary, new LedgerOptions(), logger: logger))!.Message,
            Is.EqualTo("Invalid genesis block: it is not a config block."));
        Assert.That(Assert.Throws<InvalidDataException>(() => BlockStore.Join(otherChannel, new LedgerOptions(), logger: logger))!.Message,
            Is.EqualTo("Invalid genesis block: it is not a config block."));
        Assert.That(Assert.Throws<InvalidDataException>(() => BlockStore.Join([0x0A, 0xFF], new LedgerOptions(), logger: logger))!.Message,
            Is.EqualTo("Invalid genesis block: the envelope does not parse."));
        Assert.That(_loggers.Messages(6101).Count(), Is.EqualTo(4));
    }

    [TestCase("abc", "org #0 (Org1): anchor peer #0 'abc' is not ip:port")]
    [TestCase("127.0.0.1:0", "org #0 (Org1): anchor peer #0 '127.0.0.1:0' is not ip:port (the port must be a number from 1 to 65535)")]
    [TestCase("127.0.0.1:7051,127.0.0.1:7051", "org #0 (Org1): anchor peer 127.0.0.1:7051 is listed twice")]
    public void ConfigWithBadAnchors_IsRefused(string anchors, string expected)
    {
        var message = new ChannelConfig { ChannelId = Channel, Orgs = { new OrgConfig { OrgId = "Org1", AnchorPeers = { anchors.Split(',') } } } };
        Assert.That(ChannelConfiguration.TryParse(message.ToByteArray(), out _, out string? error), Is.False);
        Assert.That(error, Does.StartWith(expected));

        // The same configuration in a config block: refused by the store, never committed.
        using var store = Join();
        var block = ConfigBlock(1, message);
        Assert.That(store.Offer(block, Source), Is.EqualTo(OfferResult.InvalidConfig));
        Assert.That(store.Height, Is.EqualTo(1UL));
        Assert.That(_loggers.Messages(6106).Single(), Does.Contain($"refused block 1 of mychannel from 10.0.0.9:7051: invalid config block: {expected}"));
    }

    [Test]
    public void ConfigParsing_NamesWhatIsWrong()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Error(new ChannelConfig { ChannelId = "", Orgs = { new OrgConfig { OrgId = "Org1" } } }), Is.EqualTo("the channel id must be 1 to 255 bytes, was 0"));
            Assert.That(Error(new ChannelConfig { ChannelId = Channel }), Is.EqualTo("a channel has 1 to 1024 orgs, this one 0"));
            Assert.That(Error(new ChannelConfig { ChannelId = Channel, Orgs = { new OrgConfig { OrgId = "Org1" }, new OrgConfig { OrgId = "Org1" } } }), Is.EqualTo("org #1 (Org1) is listed twice"));
            Assert.That(Error(new ChannelConfig { ChannelId = Channel, Orgs = { new OrgConfig { OrgId = " " } } }), Is.EqualTo("org #0 has no org id"));
        });
        Assert.That(ChannelConfiguration.TryParse([0xFF, 0xFF, 0xFF], out _, out string? garbage), Is.False);
        Assert.That(garbage, Does.StartWith("the channel configuration does not parse"));
    }

    [Test]
    public void ConfigOfAnotherChannel_Malformed_WrongChannelAndTooLarge_AreRefused()
    {
        using var store = Join(new LedgerOptions { MaxBlockBytes = 1024 });
        var foreignConfig = new ChannelConfiguration("other", [new OrgAnchors("Org1", [])]);
        var misnamed = ConfigBlock(1, new ChannelConfig { ChannelId = "other", Orgs = { new OrgConfig { OrgId = "Org1" } } });

        Assert.That(store.Offer(misnamed, Source), Is.EqualTo(OfferResult.InvalidConfig));
        Assert.That(store.Offer(BlockCodec.EncodeConfig(1, foreignConfig), Source), Is.EqualTo(OfferResult.WrongChannel));
        Assert.That(store.Offer([0x0A, 0x05, 0x01], Source), Is.EqualTo(OfferResult.Malformed));
        Assert.That(store.Offer(Block(1, bytes: 2000), Source), Is.EqualTo(OfferResult.TooLarge));
        Assert.That(store.Height, Is.EqualTo(1UL));
        Assert.That(store.GetStatistics().Refused, Is.EqualTo(4));
        Assert.That(_loggers.Lines.Where(l => l.EventId is 6106 or 6107).Select(l => l.Level), Is.All.EqualTo(LogLevel.Warning));
    }

    [Test]
    public void BlockCodec_MatchesGoogleProtobuf_AndReadsBack()
    {
        var data = new byte[300];
        new Random(5).NextBytes(data);
        var expected = new Envelope
        {
            Payload = new GossipMessage
            {
                Channel = ByteString.CopyFromUtf8(Channel),
                Tag = GossipMessage.Types.Tag.ChanAndOrg,
                DataMsg = new DataMessage { Payload = new Payload { SeqNum = 77, Data = new BlockContent { Transactions = ByteString.CopyFrom(data) }.ToByteString() } },
            }.ToByteString(),
        }.ToByteArray();

        byte[] encoded = BlockCodec.Encode(ChannelBytes, 77, data);
        Assert.That(encoded, Is.EqualTo(expected));
        Assert.That(BlockCodec.TryRead(encoded, out var view), Is.Null);
        Assert.That(view.Sequence, Is.EqualTo(77UL));
        Assert.That(view.Kind, Is.EqualTo(BlockContentKind.Transactions));
        Assert.That(view.Content.ToArray(), Is.EqualTo(data));

        var config = TwoOrgs();
        var configBlock = BlockCodec.EncodeConfig(0, config);
        Assert.That(BlockCodec.TryRead(configBlock, out var configView), Is.Null);
        Assert.That(configView.Kind, Is.EqualTo(BlockContentKind.Config));
        Assert.That(ChannelConfig.Parser.ParseFrom(configView.Content).Orgs.Select(o => o.OrgId), Is.EqualTo(TwoOrgNames));
        Assert.That(BlockCodec.TryRead(new Envelope { Payload = new GossipMessage { Channel = ByteString.CopyFromUtf8("c"), Empty = new Empty() }.ToByteString() }.ToByteArray(), out _),
            Does.StartWith("the message is not a block"));
    }

    private static string? Error(ChannelConfig message)
    {
        return ChannelConfiguration.TryParse(message.ToByteArray(), out _, out string? error) ? null : error;
    }

    private static byte[] ConfigBlock(ulong number, ChannelConfig message)
    {
        byte[] content = message.ToByteArray();
        var buffer = new byte[BlockCodec.EnvelopeSize(ChannelBytes, number, BlockContentKind.Config, content.Length)];
        BlockCodec.Write(buffer, ChannelBytes, number, BlockContentKind.Config, content);
        return buffer;
    }
}
