using System.Buffers;
using System.Diagnostics;
using System.Text;
using Engine.Diagnostics;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Ledger;

/// <summary>What became of an offered block.</summary>
internal enum OfferResult
{
    /// <summary>It was the next block: committed (with any buffered blocks that followed it).</summary>
    Committed = 0,

    /// <summary>It arrived early: held in the reorder buffer until the blocks before it commit.</summary>
    Buffered,

    /// <summary>Already committed or already buffered: dropped.</summary>
    Duplicate,

    /// <summary>Beyond height + BlockBufferSize: refused and counted (pull brings it back when its turn is near).</summary>
    TooFarAhead,

    /// <summary>Larger than MaxBlockBytes: refused.</summary>
    TooLarge,

    /// <summary>A block of another channel: refused.</summary>
    WrongChannel,

    /// <summary>Not a block envelope: refused.</summary>
    Malformed,

    /// <summary>A config block whose configuration is invalid or names another channel: refused.</summary>
    InvalidConfig,
}

/// <summary>A block at the moment it is committed: spans valid only during the callback.</summary>
internal readonly ref struct CommittedBlock
{
    public string ChannelId { get; init; }

    public ulong Number { get; init; }

    /// <summary>The block envelope, as received.</summary>
    public ReadOnlySpan<byte> Envelope { get; init; }

    public BlockContentKind Kind { get; init; }

    /// <summary>The transactions, or the marshalled configuration of a config block.</summary>
    public ReadOnlySpan<byte> Content { get; init; }

    /// <summary>The configuration a config block carries (null for an ordinary block).</summary>
    public ChannelConfiguration? Config { get; init; }
}

/// <summary>Called, in order and under the store's lock, for every committed block. Must not block.</summary>
internal delegate void BlockCommittedHandler(in CommittedBlock block);

/// <summary>Counters of one block store.</summary>
internal readonly record struct LedgerStatistics(
    ulong Height,
    long Committed,
    long Buffered,
    long Duplicates,
    long TooFarAhead,
    long Refused,
    int BufferedNow,
    int WindowCount,
    int ArchivedCount,
    long ArchivedBytes,
    ulong OldestHeld);

/// <summary>
/// One channel's ledger at one peer: commits blocks strictly in sequence from block #0 (the genesis block, a config
/// block). A block that arrives early waits in a reorder buffer of <see cref="LedgerOptions.BlockBufferSize"/> slots
/// (numbers height .. height + size - 1); one further ahead is refused and counted. Committed blocks stay in memory in
/// the archive — the last <see cref="LedgerOptions.ArchiveBlockCount"/> of them, at most
/// <see cref="LedgerOptions.ArchiveBytes"/> of block bytes, oldest dropped first — to serve state transfer
/// (<see cref="TryCopyBlock"/>); the last <see cref="LedgerOptions.MaxBlockCountToStore"/> of them (the window, always
/// kept) are what pull shows by sequence digest (<see cref="CopyWindow"/>). Config blocks are validated before they are
/// accepted and update <see cref="Config"/> (anchor peers) when committed. The store is the commit order, the archive and
/// the latest configuration, not a database — memory is bounded by <see cref="LedgerOptions.MaxMemoryBytes"/>.
/// </summary>
/// <remarks>
/// Thread-safe (one lock). Block bytes live in the store's <see cref="BlockArena"/> (2 MiB chunks of native memory,
/// huge pages where the kernel grants them, reused once their blocks leave the archive), so a steady stream of commits
/// allocates nothing and, once chunks are reused, touches no fresh memory. The archive is a ring indexed by block
/// number that grows by doubling up to its block count, so a store that never holds many blocks never allocates for them.
/// </remarks>
internal sealed class BlockStore : IDisposable
{
    private readonly Lock _gate = new();
    private readonly LedgerOptions _options;
    private readonly string _peer;
    private readonly byte[] _channel;
    private readonly ILogger _logger;
    private readonly BlockCommittedHandler? _committed;
    private readonly LogRateLimiter _refusedLimiter;
    private readonly KeyValuePair<string, object?> _channelTag;
    private readonly Slot[] _buffer;
    private readonly int _windowSize;
    private readonly int _archiveCapacity;
    private readonly BlockArena _arena = new(Random.Shared.Next(BlockArena.ChunkSize / BlockArena.Alignment) * BlockArena.Alignment);
    private Slot[] _archive;
    private ulong _oldest;
    private long _archivedBytes;
    private ulong _height;
    private int _bufferedNow;
    private bool _disposed;
    private long _committedCount;
    private long _bufferedCount;
    private long _duplicates;
    private long _tooFarAhead;
    private long _refused;

    private BlockStore(string channelId, LedgerOptions options, TimeProvider time, ILogger logger, string peer, BlockCommittedHandler? committed)
    {
        ChannelId = channelId;
        _channel = Encoding.UTF8.GetBytes(channelId);
        _options = options;
        _peer = peer;
        _logger = logger;
        _committed = committed;
        _refusedLimiter = new LogRateLimiter(time, TimeSpan.FromSeconds(5));
        _channelTag = LedgerMetrics.Tag("channel", channelId);
        _buffer = new Slot[options.BlockBufferSize];
        _windowSize = options.MaxBlockCountToStore;
        _archiveCapacity = Math.Max(options.ArchiveBlockCount, options.MaxBlockCountToStore);
        _archive = new Slot[Math.Min(_archiveCapacity, Math.Max(options.MaxBlockCountToStore, 64))];
        Config = null!;
    }

    public string ChannelId { get; }

    public ReadOnlySpan<byte> ChannelBytes => _channel;

    /// <summary>The number of committed blocks (the next block to commit has this number).</summary>
    public ulong Height
    {
        get
        {
            lock (_gate)
            {
                return _height;
            }
        }
    }

    /// <summary>The configuration of the last committed config block.</summary>
    public ChannelConfiguration Config { get; private set; }

    /// <summary>
    /// Creates the ledger of the channel <paramref name="genesisBlock"/> configures and commits it as block #0 (Fabric's
    /// <c>JoinChannel</c>). Throws <see cref="InvalidDataException"/> (and logs it) when the block is not a valid config
    /// block numbered 0.
    /// </summary>
    public static BlockStore Join(
        ReadOnlySpan<byte> genesisBlock,
        LedgerOptions options,
        TimeProvider? time = null,
        ILogger? logger = null,
        string peerName = "peer",
        BlockCommittedHandler? committed = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        logger ??= NullLogger.Instance;
        string? error = BlockCodec.TryRead(genesisBlock, out var block);
        ChannelConfiguration? config = null;
        if (error is null && block.Sequence != 0)
        {
            error = $"it is block {block.Sequence}, not block 0";
        }
        else if (error is null && block.Kind != BlockContentKind.Config)
        {
            error = "it is not a config block";
        }
        else if (error is null && genesisBlock.Length > options.MaxBlockBytes)
        {
            error = $"it is {genesisBlock.Length} bytes, more than MaxBlockBytes ({options.MaxBlockBytes})";
        }
        else if (error is null && ChannelConfiguration.TryParse(block.Content, out config, out string? configError) is false)
        {
            error = configError;
        }
        else if (error is null && !block.Channel.SequenceEqual(Encoding.UTF8.GetBytes(config!.ChannelId)))
        {
            error = $"the block is of channel '{Encoding.UTF8.GetString(block.Channel)}' but configures '{config.ChannelId}'";
        }

        if (error is not null)
        {
            LedgerLog.GenesisRefused(logger, peerName, error);
            throw new InvalidDataException($"Invalid genesis block: {error}.");
        }

        var store = new BlockStore(config!.ChannelId, options, time ?? TimeProvider.System, logger, peerName, committed);
        lock (store._gate)
        {
            if (options.PretouchBytes > 0)
            {
                long started = Stopwatch.GetTimestamp();
                int chunks = store._arena.Pretouch(options.PretouchBytes);
                long milliseconds = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                LedgerLog.Pretouched(logger, peerName, chunks, (long)chunks * BlockArena.ChunkSize, config.ChannelId, milliseconds);
            }

            store.CommitLocked(store._arena.Store(genesisBlock), genesisBlock.Length, 0, config);
        }

        if (logger.IsEnabled(LogLevel.Information))
        {
            string orgs = string.Join(", ", config.Orgs.Select(o => o.OrgId));
            LedgerLog.Joined(logger, peerName, store.ChannelId, orgs);
        }

        return store;
    }

    /// <summary>Offers a block envelope received from <paramref name="source"/> (the orderer, push or pull). Copies what it keeps.</summary>
    public OfferResult Offer(ReadOnlySpan<byte> envelope, PeerEndpoint source)
    {
        string? error = BlockCodec.TryRead(envelope, out var block);
        if (error is not null)
        {
            return Refuse(OfferResult.Malformed, 0, source, error, malformed: true);
        }

        if (!block.Channel.SequenceEqual(_channel))
        {
            return Refuse(OfferResult.WrongChannel, block.Sequence, source, "it is of another channel", malformed: true);
        }

        if (envelope.Length > _options.MaxBlockBytes)
        {
            return Refuse(OfferResult.TooLarge, block.Sequence, source, $"{envelope.Length} bytes is more than MaxBlockBytes ({_options.MaxBlockBytes})", malformed: false);
        }

        ulong number = block.Sequence;
        lock (_gate)
        {
            if (_disposed)
            {
                return OfferResult.Duplicate;
            }

            if (number < _height || (number - _height < (ulong)_buffer.Length && _buffer[Index(number, _buffer.Length)].Holds(number)))
            {
                _duplicates++;
                LedgerMetrics.Offered.Add(1, LedgerMetrics.Tag("result", "duplicate"));
                return OfferResult.Duplicate;
            }

            if (number - _height >= (ulong)_buffer.Length)
            {
                _tooFarAhead++;
                return RefuseLocked(OfferResult.TooFarAhead, number, source,
                    $"it is beyond the reorder buffer (height {_height}, buffer {_buffer.Length} blocks)", "too_far_ahead");
            }
        }

        // Validate a config block outside the lock (it allocates); ordinary blocks need nothing more.
        ChannelConfiguration? config = null;
        if (block.Kind == BlockContentKind.Config)
        {
            if (!ChannelConfiguration.TryParse(block.Content, out config, out string? configError))
            {
                return Refuse(OfferResult.InvalidConfig, number, source, $"invalid config block: {configError}", malformed: false);
            }

            if (config.ChannelId != ChannelId)
            {
                return Refuse(OfferResult.InvalidConfig, number, source, $"the config block configures channel '{config.ChannelId}'", malformed: false);
            }
        }

        lock (_gate)
        {
            // Re-check: another thread may have moved the height or filled the slot meanwhile.
            if (_disposed || number < _height || (number - _height < (ulong)_buffer.Length && _buffer[Index(number, _buffer.Length)].Holds(number)))
            {
                _duplicates++;
                LedgerMetrics.Offered.Add(1, LedgerMetrics.Tag("result", "duplicate"));
                return OfferResult.Duplicate;
            }

            if (number != _height)
            {
                ref var slot = ref _buffer[Index(number, _buffer.Length)];
                slot = new Slot(_arena.Store(envelope), envelope.Length, number, config);
                _bufferedNow++;
                _bufferedCount++;
                LedgerMetrics.Offered.Add(1, LedgerMetrics.Tag("result", "buffered"));
                return OfferResult.Buffered;
            }

            LedgerMetrics.Offered.Add(1, LedgerMetrics.Tag("result", "committed"));
            CommitLocked(_arena.Store(envelope), envelope.Length, number, config);
            while (_bufferedNow > 0)
            {
                ref var next = ref _buffer[Index(_height, _buffer.Length)];
                if (!next.Holds(_height))
                {
                    break;
                }

                var taken = next;
                next = default;
                _bufferedNow--;
                CommitLocked(taken.Memory, taken.Length, taken.Number, taken.Config);
            }

            return OfferResult.Committed;
        }
    }

    /// <summary>True when block <paramref name="number"/> is committed and still in the window (the last MaxBlockCountToStore).</summary>
    public bool InWindow(ulong number)
    {
        lock (_gate)
        {
            return number >= WindowStartLocked() && number < _height;
        }
    }

    /// <summary>The lowest block number the archive holds (blocks from here to height - 1 can be served).</summary>
    public ulong OldestHeld
    {
        get
        {
            lock (_gate)
            {
                return _oldest;
            }
        }
    }

    /// <summary>True when this store needs block <paramref name="number"/> and could take it now (not committed, not buffered, within the buffer).</summary>
    public bool Wants(ulong number)
    {
        lock (_gate)
        {
            return !_disposed && number >= _height && number - _height < (ulong)_buffer.Length && !_buffer[Index(number, _buffer.Length)].Holds(number);
        }
    }

    /// <summary>Copies block <paramref name="number"/>'s envelope from the archive; false when it is not (or no longer, or not yet) there.</summary>
    public bool TryCopyBlock(ulong number, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        lock (_gate)
        {
            if (number < _oldest || number >= _height)
            {
                return false;
            }

            ref var slot = ref _archive[Index(number, _archive.Length)];
            if (!slot.Holds(number))
            {
                return false;
            }

            destination.Write(BlockArena.Bytes(slot.Memory, slot.Length));
            return true;
        }
    }

    /// <summary>Writes the numbers of the blocks in the window (lowest first) into <paramref name="numbers"/>; returns how many.</summary>
    public int CopyWindow(Span<ulong> numbers)
    {
        lock (_gate)
        {
            int count = 0;
            for (ulong n = WindowStartLocked(); n < _height && count < numbers.Length; n++)
            {
                numbers[count++] = n;
            }

            return count;
        }
    }

    public LedgerStatistics GetStatistics()
    {
        lock (_gate)
        {
            int window = (int)(_height - WindowStartLocked());
            return new LedgerStatistics(_height, _committedCount, _bufferedCount, _duplicates, _tooFarAhead, _refused, _bufferedNow, window,
                (int)(_height - _oldest), _archivedBytes, _oldest);
        }
    }

    /// <summary>Returns every held buffer to the pool; later offers are ignored.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            ReturnAll(_buffer);
            ReturnAll(_archive);
            _arena.Close();
            _archivedBytes = 0;
            _oldest = _height;
            _bufferedNow = 0;
        }
    }

    private void CommitLocked(BlockMemory memory, int length, ulong number, ChannelConfiguration? config)
    {
        Archive(memory, length, number);
        _height = number + 1;
        _committedCount++;
        LedgerMetrics.Committed.Add(1);
        LedgerMetrics.Height.Record((long)_height, _channelTag);
        var envelope = BlockArena.Bytes(memory, length);
        BlockCodec.TryRead(envelope, out var block);
        if (config is not null)
        {
            Config = config;
        }

        if (config is not null && _logger.IsEnabled(LogLevel.Information))
        {
            string text = config.ToString();
            LedgerLog.ConfigCommitted(_logger, _peer, number, ChannelId, text);
            foreach (var org in config.Orgs)
            {
                if (org.AnchorPeers.Count == 0)
                {
                    LedgerLog.NoAnchors(_logger, org.OrgId, ChannelId);
                }
                else
                {
                    string anchors = string.Join(", ", org.AnchorPeers);
                    LedgerLog.Anchors(_logger, org.OrgId, ChannelId, anchors);
                }
            }
        }
        else if (config is null)
        {
            LedgerLog.Committed(_logger, _peer, number, ChannelId, length, _height);
        }

        _committed?.Invoke(new CommittedBlock
        {
            ChannelId = ChannelId,
            Number = number,
            Envelope = envelope,
            Kind = block.Kind,
            Content = block.Content,
            Config = config,
        });
    }

    /// <summary>The first block of the window: the last MaxBlockCountToStore committed, within what the archive holds.</summary>
    private ulong WindowStartLocked() => Math.Max(_oldest, _height > (ulong)_windowSize ? _height - (ulong)_windowSize : 0);

    /// <summary>
    /// Adds committed block <paramref name="number"/> (= height) to the archive, growing the ring up to its capacity, then
    /// drops the oldest blocks while more than the capacity are held, or more than ArchiveBytes beyond the window.
    /// </summary>
    private void Archive(BlockMemory memory, int length, ulong number)
    {
        ulong held = number - _oldest;
        if (held >= (ulong)_archive.Length && _archive.Length < _archiveCapacity)
        {
            var grown = new Slot[(int)Math.Min((long)_archive.Length * 2, _archiveCapacity)];
            for (ulong n = _oldest; n < number; n++)
            {
                grown[Index(n, grown.Length)] = _archive[Index(n, _archive.Length)];
            }

            _archive = grown;
        }

        while (number - _oldest >= (ulong)_archive.Length)
        {
            DropOldestLocked();
        }

        _archive[Index(number, _archive.Length)] = new Slot(memory, length, number, null);
        _archivedBytes += length;
        while (number + 1 - _oldest > (ulong)_windowSize && _archivedBytes > _options.ArchiveBytes)
        {
            DropOldestLocked();
        }
    }

    private void DropOldestLocked()
    {
        ref var slot = ref _archive[Index(_oldest, _archive.Length)];
        if (!slot.Memory.IsEmpty)
        {
            _archivedBytes -= slot.Length;
            BlockArena.Free(slot.Memory);
        }

        slot = default;
        _oldest++;
    }

    private OfferResult Refuse(OfferResult result, ulong number, PeerEndpoint source, string reason, bool malformed)
    {
        lock (_gate)
        {
            return RefuseLocked(result, number, source, reason, result switch
            {
                OfferResult.Malformed => "malformed",
                OfferResult.WrongChannel => "wrong_channel",
                OfferResult.TooLarge => "too_large",
                _ => "invalid_config",
            }, malformed);
        }
    }

    private OfferResult RefuseLocked(OfferResult result, ulong number, PeerEndpoint source, string reason, string tag, bool malformed = false)
    {
        _refused++;
        LedgerMetrics.Offered.Add(1, LedgerMetrics.Tag("result", tag));
        if (_refusedLimiter.TryAcquire(out long suppressed))
        {
            if (malformed)
            {
                LedgerLog.Malformed(_logger, _peer, ChannelId, source, reason, suppressed);
            }
            else
            {
                LedgerLog.Refused(_logger, _peer, number, ChannelId, source, reason, suppressed);
            }
        }

        return result;
    }

    private static int Index(ulong number, int length) => (int)(number % (ulong)length);

    private static void ReturnAll(Slot[] slots)
    {
        for (int i = 0; i < slots.Length; i++)
        {
            if (!slots[i].Memory.IsEmpty)
            {
                BlockArena.Free(slots[i].Memory);
            }

            slots[i] = default;
        }
    }

    private readonly record struct Slot(BlockMemory Memory, int Length, ulong Number, ChannelConfiguration? Config)
    {
        public bool Holds(ulong number) => !Memory.IsEmpty && Number == number;
    }
}
