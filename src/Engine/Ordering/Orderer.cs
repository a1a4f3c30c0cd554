using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Engine.Diagnostics;
using Engine.Ledger;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Ordering;

/// <summary>Counters of an orderer.</summary>
internal readonly record struct OrdererStatistics(long BlocksCut, long Deliveries, long SendFailures, long StreamsOpened, long StreamsClosed, long Refused, int OpenStreams);

/// <summary>
/// The block source of a network (the ordering service's role in Fabric, without consensus): it creates channels
/// (block #0, the genesis config block), cuts blocks on demand (<see cref="CutBlock"/>) or at a rate
/// (<see cref="StartCutting"/>), cuts config blocks for anchor updates (<see cref="UpdateAnchors"/>), and sends each
/// block <b>only on the delivery streams open for its channel</b> — in Fabric's design, one per org, opened by the
/// org's leader. A stream is opened by a DeliverRequest frame (from a block on), closed by DeliverStop or when the
/// transport loses the connection. Blocks go as frames, in order, per stream; a send the transport refuses is retried
/// from that block every <see cref="OrdererOptions.RetryInterval"/>, so a stream never skips a block.
/// </summary>
/// <remarks>Thread-safe (one lock); callbacks run under it and must not block.</remarks>
internal sealed class Orderer : ITransportHandler, IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly ITransport _transport;
    private readonly OrdererOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _dropLimiter;
    private readonly LogRateLimiter _sendLimiter;
    private readonly Dictionary<string, ChannelState> _channels = new(StringComparer.Ordinal);
    private readonly ITimer _retryTimer;
    private int _openStreams;
    private bool _retryArmed;
    private bool _disposed;
    private long _cut;
    private long _deliveries;
    private long _sendFailures;
    private long _opened;
    private long _closed;
    private long _refused;

    public Orderer(ITransport transport, OrdererOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _transport = transport;
        _options = options ?? new OrdererOptions();
        _options.Validate();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _dropLimiter = new LogRateLimiter(_time, TimeSpan.FromSeconds(5));
        _sendLimiter = new LogRateLimiter(_time, TimeSpan.FromSeconds(5));
        _retryTimer = _time.CreateTimer(static s => ((Orderer)s!).Retry(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Called for every block sent on a stream: (channel, block number, peer).</summary>
    public Action<string, ulong, PeerEndpoint>? BlockDelivered { get; init; }

    /// <summary>Called for every block cut: (channel, block number, envelope).</summary>
    public Action<string, ulong, byte[]>? BlockCut { get; init; }

    public PeerEndpoint Endpoint => _transport.LocalEndpoint;

    public ValueTask StartAsync(CancellationToken cancellationToken = default) => _transport.StartAsync(this, cancellationToken);

    /// <summary>Creates a channel and returns its genesis block (block #0, a config block), which peers join with.</summary>
    public byte[] CreateChannel(ChannelConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_channels.ContainsKey(config.ChannelId))
            {
                throw new InvalidOperationException($"Channel {config.ChannelId} already exists at the orderer.");
            }

            var state = new ChannelState(config, _options.MaxRetainedBlocks);
            _channels.Add(config.ChannelId, state);
            if (_logger.IsEnabled(LogLevel.Information))
            {
                string orgs = string.Join(", ", config.Orgs.Select(o => o.OrgId));
                OrderingLog.ChannelCreated(_logger, Endpoint, config.ChannelId, orgs);
            }

            return AppendLocked(state, BlockCodec.EncodeConfig(0, config), isConfig: true);
        }
    }

    /// <summary>The genesis block of <paramref name="channel"/> (while it is retained).</summary>
    public byte[] GenesisBlock(string channel)
    {
        lock (_gate)
        {
            return Channel(channel).Get(0) ?? throw new InvalidOperationException($"The genesis block of {channel} is no longer retained.");
        }
    }

    /// <summary>The number of blocks cut in <paramref name="channel"/> (genesis included).</summary>
    public ulong Height(string channel)
    {
        lock (_gate)
        {
            return Channel(channel).Height;
        }
    }

    public ChannelConfiguration Config(string channel)
    {
        lock (_gate)
        {
            return Channel(channel).Config;
        }
    }

    /// <summary>Cuts an ordinary block of <paramref name="transactions"/>; returns its number.</summary>
    public ulong CutBlock(string channel, ReadOnlySpan<byte> transactions)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var state = Channel(channel);
            ulong number = state.Height;
            AppendLocked(state, BlockCodec.Encode(state.IdBytes, number, transactions), isConfig: false);
            return number;
        }
    }

    /// <summary>Cuts a config block carrying <paramref name="config"/> (of this channel); returns its number.</summary>
    public ulong CutConfigBlock(ChannelConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var state = Channel(config.ChannelId);
            ulong number = state.Height;
            state.Config = config;
            AppendLocked(state, BlockCodec.EncodeConfig(number, config), isConfig: true);
            return number;
        }
    }

    /// <summary>An anchor update: cuts a config block in which <paramref name="org"/>'s anchor peers are <paramref name="anchors"/>.</summary>
    public ulong UpdateAnchors(string channel, string org, IEnumerable<PeerEndpoint> anchors)
    {
        lock (_gate)
        {
            return CutConfigBlock(Channel(channel).Config.WithAnchors(org, anchors));
        }
    }

    /// <summary>
    /// Cuts a block of <paramref name="blockBytes"/> bytes every 1 / <paramref name="blocksPerSecond"/> seconds until
    /// <see cref="StopCutting"/>, or, with <paramref name="count"/>, until that many are cut. The first 8 bytes of each
    /// (when it has 8) are the cut time, UTC ticks, big-endian; the rest are pseudo-random (incompressible, like real transactions).
    /// </summary>
    public void StartCutting(string channel, double blocksPerSecond, int blockBytes, long? count = null)
    {
        if (count is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "at least one block");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blocksPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegative(blockBytes);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var state = Channel(channel);
            state.Cutter?.Dispose();
            var period = TimeSpan.FromSeconds(1 / blocksPerSecond);
            state.Cutter = new Cutter(this, channel, blockBytes, count ?? long.MaxValue, period);
        }
    }

    public void StopCutting(string channel)
    {
        lock (_gate)
        {
            var state = Channel(channel);
            state.Cutter?.Dispose();
            state.Cutter = null;
        }
    }

    /// <summary>Stops <paramref name="cutter"/> if it is still the channel's (a counted cutter that cut its last block).</summary>
    private void StopCutter(string channel, Cutter cutter)
    {
        lock (_gate)
        {
            var state = Channel(channel);
            if (ReferenceEquals(state.Cutter, cutter))
            {
                cutter.Dispose();
                state.Cutter = null;
            }
        }
    }

    /// <summary>The peers with a delivery stream open for <paramref name="channel"/>.</summary>
    public IReadOnlyList<PeerEndpoint> Streams(string channel)
    {
        lock (_gate)
        {
            return [.. Channel(channel).Streams.Keys.Order()];
        }
    }

    /// <summary>The delivery streams open for <paramref name="channel"/>, each with the org its peer named (one per org: its leader's).</summary>
    public IReadOnlyList<(PeerEndpoint Peer, string Org)> StreamOrgs(string channel)
    {
        lock (_gate)
        {
            return [.. Channel(channel).Streams.Values.Select(s => (s.Peer, s.Org)).OrderBy(s => s.Org, StringComparer.Ordinal).ThenBy(s => s.Peer)];
        }
    }

    /// <summary>The channels this orderer serves.</summary>
    public IReadOnlyList<string> ChannelIds
    {
        get
        {
            lock (_gate)
            {
                return [.. _channels.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    public OrdererStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new OrdererStatistics(_cut, _deliveries, _sendFailures, _opened, _closed, _refused, _openStreams);
        }
    }

    public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload) => Drop(source, "the orderer takes no datagrams");

    public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
    {
        byte[]? rented = null;
        ReadOnlySpan<byte> body;
        if (payload.IsSingleSegment)
        {
            body = payload.FirstSpan;
        }
        else
        {
            rented = ArrayPool<byte>.Shared.Rent((int)payload.Length);
            payload.CopyTo(rented);
            body = rented.AsSpan(0, (int)payload.Length);
        }

        try
        {
            Handle(source, body);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public void OnConnectionLost(PeerEndpoint peer, string reason)
    {
        lock (_gate)
        {
            foreach (var state in _channels.Values)
            {
                if (state.Streams.Remove(peer, out var stream))
                {
                    CloseLocked(state, stream, $"connection lost: {reason}", "lost");
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var state in _channels.Values)
            {
                state.Cutter?.Dispose();
                OrderingMetrics.Streams.Add(-state.Streams.Count);
                state.Streams.Clear();
            }

            _openStreams = 0;
        }

        await _retryTimer.DisposeAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
    }

    private void Handle(PeerEndpoint source, ReadOnlySpan<byte> body)
    {
        if (!EnvelopeView.TryParse(body, out var view))
        {
            Drop(source, "the frame is not an envelope");
            return;
        }

        var message = DeliveryCodec.TryParse(view);
        string channel = Encoding.UTF8.GetString(view.Channel);
        if (message is null)
        {
            Drop(source, $"content field {view.ContentField} is not a delivery request or stop");
            return;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (!_channels.TryGetValue(channel, out var state))
            {
                Refuse(source, channel, DeliverStatus.Types.Code.NotFound, $"no channel '{Truncate(channel)}' at this orderer");
                return;
            }

            switch (message.ContentCase)
            {
                case GossipMessage.ContentOneofCase.DeliverReq:
                    Open(source, state, message.DeliverReq);
                    break;
                case GossipMessage.ContentOneofCase.DeliverStop:
                    if (state.Streams.Remove(source, out var stream))
                    {
                        CloseLocked(state, stream, "closed by the peer", "closed");
                    }

                    break;
                default:
                    Drop(source, $"unexpected {message.ContentCase}");
                    break;
            }
        }
    }

    private void Open(PeerEndpoint source, ChannelState state, DeliverRequest request)
    {
        string org = string.IsNullOrEmpty(request.OrgId) ? "unknown org" : Truncate(request.OrgId);
        bool replacing = state.Streams.TryGetValue(source, out var stream);
        if (!replacing && _openStreams >= _options.MaxStreams)
        {
            Refuse(source, state.Id, DeliverStatus.Types.Code.Unavailable, $"{_openStreams} streams are open, the most this orderer serves");
            return;
        }

        ulong start = request.StartSeqNum;
        if (start < state.Oldest)
        {
            string reason = $"blocks before {state.Oldest} are no longer retained; the stream starts at {state.Oldest}";
            Send(source, DeliveryCodec.Status(state.Id, DeliverStatus.Types.Code.Ok, reason, state.Oldest));
            start = state.Oldest;
        }

        if (!replacing)
        {
            stream = new DeliveryStream(source, org);
            state.Streams.Add(source, stream);
            _openStreams++;
            OrderingMetrics.Streams.Add(1);
        }

        stream!.Next = start;
        _opened++;
        OrderingMetrics.StreamEvents.Add(1, OrderingMetrics.Tag("event", "opened"));
        OrderingLog.StreamOpened(_logger, Endpoint, source, org, state.Id, start);
        PumpLocked(state, stream);
    }

    private void CloseLocked(ChannelState state, DeliveryStream stream, string reason, string tag)
    {
        _openStreams--;
        _closed++;
        OrderingMetrics.Streams.Add(-1);
        OrderingMetrics.StreamEvents.Add(1, OrderingMetrics.Tag("event", tag));
        OrderingLog.StreamClosed(_logger, Endpoint, stream.Peer, stream.Org, state.Id, reason);
    }

    private byte[] AppendLocked(ChannelState state, byte[] block, bool isConfig)
    {
        ulong number = state.Height;
        state.Append(block);
        _cut++;
        OrderingMetrics.BlocksCut.Add(1, OrderingMetrics.Tag("kind", isConfig ? "config" : "ordinary"));
        BlockCut?.Invoke(state.Id, number, block);
        foreach (var stream in state.Streams.Values)
        {
            PumpLocked(state, stream);
        }

        if (isConfig && _logger.IsEnabled(LogLevel.Information))
        {
            string text = state.Config.ToString();
            OrderingLog.ConfigCut(_logger, Endpoint, number, state.Id, text);
        }
        else
        {
            OrderingLog.BlockCut(_logger, Endpoint, number, state.Id, block.Length, state.Streams.Count);
        }

        return block;
    }

    // Sends what the stream has not had yet, in order; stops at the first refused send and retries later from there.
    private void PumpLocked(ChannelState state, DeliveryStream stream)
    {
        while (stream.Next < state.Height)
        {
            byte[] block = state.Get(stream.Next) ?? throw new InvalidOperationException("A retained block is missing.");
            var status = _transport.SendFrame(stream.Peer, block);
            if (status != SendStatus.Sent)
            {
                _sendFailures++;
                OrderingMetrics.SendFailures.Add(1, OrderingMetrics.Tag("status", status.ToString()));
                if (_sendLimiter.TryAcquire(out long suppressed))
                {
                    OrderingLog.SendFailed(_logger, Endpoint, stream.Next, state.Id, stream.Peer, status, suppressed);
                }

                stream.Waiting = true;
                if (!_retryArmed)
                {
                    _retryArmed = true;
                    _retryTimer.Change(_options.RetryInterval, Timeout.InfiniteTimeSpan);
                }

                return;
            }

            _deliveries++;
            OrderingMetrics.Deliveries.Add(1);
            BlockDelivered?.Invoke(state.Id, stream.Next, stream.Peer);
            stream.Next++;
        }

        stream.Waiting = false;
    }

    private void Retry()
    {
        lock (_gate)
        {
            _retryArmed = false;
            if (_disposed)
            {
                return;
            }

            foreach (var state in _channels.Values)
            {
                foreach (var stream in state.Streams.Values)
                {
                    if (stream.Waiting)
                    {
                        // Blocks that left retention meanwhile are skipped: the peer's org pulls them from each other.
                        stream.Next = Math.Max(stream.Next, state.Oldest);
                        PumpLocked(state, stream);
                    }
                }
            }
        }
    }

    private void Refuse(PeerEndpoint source, string channel, DeliverStatus.Types.Code code, string reason)
    {
        _refused++;
        OrderingMetrics.StreamEvents.Add(1, OrderingMetrics.Tag("event", "refused"));
        if (_dropLimiter.TryAcquire(out long suppressed))
        {
            OrderingLog.StreamRefused(_logger, Endpoint, Truncate(channel), source, reason, suppressed);
        }

        Send(source, DeliveryCodec.Status(channel, code, reason));
    }

    private void Send(PeerEndpoint peer, byte[] frame) => _transport.SendFrame(peer, frame);

    private void Drop(PeerEndpoint source, string reason)
    {
        lock (_gate)
        {
            _refused++;
        }

        if (_dropLimiter.TryAcquire(out long suppressed))
        {
            OrderingLog.Dropped(_logger, Endpoint, source, reason, suppressed);
        }
    }

    private ChannelState Channel(string channel) =>
        _channels.TryGetValue(channel, out var state) ? state : throw new InvalidOperationException($"No channel {channel} at this orderer.");

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "...";

    private sealed class DeliveryStream(PeerEndpoint peer, string org)
    {
        public PeerEndpoint Peer { get; } = peer;

        public string Org { get; } = org;

        public ulong Next { get; set; }

        public bool Waiting { get; set; }
    }

    private sealed class ChannelState(ChannelConfiguration config, int maxRetained)
    {
        // A ring: block n lives at n % length while it is among the last maxRetained.
        private readonly byte[]?[] _retained = new byte[]?[maxRetained];

        public string Id { get; } = config.ChannelId;

        public byte[] IdBytes { get; } = Encoding.UTF8.GetBytes(config.ChannelId);

        public ChannelConfiguration Config { get; set; } = config;

        public ulong Height { get; private set; }

        /// <summary>The number of the oldest retained block.</summary>
        public ulong Oldest => Height > (ulong)_retained.Length ? Height - (ulong)_retained.Length : 0;

        public Dictionary<PeerEndpoint, DeliveryStream> Streams { get; } = [];

        public Cutter? Cutter { get; set; }

        public void Append(byte[] block)
        {
            _retained[(int)(Height % (ulong)_retained.Length)] = block;
            Height++;
        }

        public byte[]? Get(ulong number) =>
            number >= Oldest && number < Height ? _retained[(int)(number % (ulong)_retained.Length)] : null;
    }

    /// <summary>Cuts a block on every tick of its own timer, up to its count.</summary>
    private sealed class Cutter : IDisposable
    {
        private readonly Orderer _owner;
        private readonly string _channel;

        // Transactions are hashes, keys and signatures: bytes that do not compress. Zeros would let LZ4 shrink a 64 KiB
        // block to a few hundred bytes and make any block rate look cheap. Seeded, so runs are reproducible.
        private readonly byte[] _data;
        private readonly ITimer _timer;
        private long _left;

        public Cutter(Orderer owner, string channel, int blockBytes, long count, TimeSpan period)
        {
            _owner = owner;
            _channel = channel;
            _left = count;
            _data = Incompressible(blockBytes, channel);
            _timer = owner._time.CreateTimer(static s => ((Cutter)s!).Cut(), this, period, period);
        }

        public void Dispose() => _timer.Dispose();

        private static byte[] Incompressible(int length, string channel)
        {
            var data = new byte[length];
            int seed = 0x5EED;
            foreach (char c in channel)
            {
                seed = (seed * 31) + c; // stable across processes, unlike string.GetHashCode
            }

            new Random(seed).NextBytes(data);
            return data;
        }

        public void Cut()
        {
            try
            {
                // Timer callbacks can overlap: the count is claimed before the cut, so exactly `count` blocks are cut.
                long left = Interlocked.Decrement(ref _left);
                if (left < 0)
                {
                    return;
                }

                if (_data.Length >= 8)
                {
                    BinaryPrimitives.WriteInt64BigEndian(_data, _owner._time.GetUtcNow().UtcTicks);
                }

                _owner.CutBlock(_channel, _data);
                if (left == 0)
                {
                    _owner.StopCutter(_channel, this);
                }
            }
            catch (ObjectDisposedException)
            {
                // The orderer stopped between the tick and the cut.
            }
        }
    }
}
