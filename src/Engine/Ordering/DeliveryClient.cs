using System.Text;
using Engine.Diagnostics;
using Engine.Ledger;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Ordering;

/// <summary>Receives a block from the orderer's stream (the envelope is valid only during the call).</summary>
internal delegate void DeliveredBlockHandler(ReadOnlySpan<byte> envelope, PeerEndpoint orderer);

/// <summary>
/// A peer's end of its delivery stream for one channel: the node opens it when the peer becomes its org's leader
/// (<see cref="Open"/>, from the ledger's height) and closes it when the peer stops leading (<see cref="Close"/>). Blocks
/// that arrive while open go to the handler (commit, then push to the org); blocks still in flight after a close are
/// ignored. When the connection to the orderer is lost or the request cannot be sent, the stream is reopened after
/// the retry interval from the height at that time.
/// </summary>
/// <remarks>Thread-safe (one lock). The node routes frames from the orderer to <see cref="TryHandle"/> and its transport's connection losses to <see cref="OnConnectionLost"/>.</remarks>
internal sealed class DeliveryClient : IDisposable
{
    private readonly Lock _gate = new();
    private readonly ITransport _transport;
    private readonly string _channel;
    private readonly byte[] _channelBytes;
    private readonly string _org;
    private readonly string _peer;
    private readonly Func<ulong> _nextBlock;
    private readonly DeliveredBlockHandler _onBlock;
    private readonly TimeSpan _retryInterval;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _retryLimiter;
    private readonly ITimer _retryTimer;
    private bool _open;
    private bool _disposed;
    private long _received;
    private long _ignored;

    /// <param name="transport">The peer's transport.</param>
    /// <param name="orderer">The orderer's endpoint.</param>
    /// <param name="channel">The channel this stream carries.</param>
    /// <param name="org">The peer's org (told to the orderer).</param>
    /// <param name="peerName">How log lines name this peer.</param>
    /// <param name="nextBlock">The first block the peer needs (its ledger height), asked when the stream (re)opens.</param>
    /// <param name="onBlock">Where delivered blocks go.</param>
    /// <param name="time">The clock.</param>
    /// <param name="retryInterval">How soon a failed stream is reopened.</param>
    /// <param name="logger">Where the client logs.</param>
    public DeliveryClient(ITransport transport, PeerEndpoint orderer, string channel, string org, string peerName, Func<ulong> nextBlock, DeliveredBlockHandler onBlock, TimeProvider time, TimeSpan retryInterval, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(org);
        ArgumentNullException.ThrowIfNull(peerName);
        ArgumentNullException.ThrowIfNull(nextBlock);
        ArgumentNullException.ThrowIfNull(onBlock);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retryInterval, TimeSpan.Zero);
        _transport = transport;
        Orderer = orderer;
        _channel = channel;
        _channelBytes = Encoding.UTF8.GetBytes(channel);
        _org = org;
        _peer = peerName;
        _nextBlock = nextBlock;
        _onBlock = onBlock;
        _retryInterval = retryInterval;
        _logger = logger ?? NullLogger.Instance;
        _retryLimiter = new LogRateLimiter(time, TimeSpan.FromSeconds(10));
        _retryTimer = time.CreateTimer(static s => ((DeliveryClient)s!).Reopen(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public PeerEndpoint Orderer { get; }

    /// <summary>True between <see cref="Open"/> and <see cref="Close"/>.</summary>
    public bool IsOpen
    {
        get
        {
            lock (_gate)
            {
                return _open;
            }
        }
    }

    /// <summary>Blocks handed to the handler.</summary>
    public long BlocksReceived => Interlocked.Read(ref _received);

    /// <summary>Blocks that arrived while the stream was closed (in flight at the close).</summary>
    public long BlocksIgnored => Interlocked.Read(ref _ignored);

    /// <summary>Opens the stream from the ledger's height (nothing when already open).</summary>
    public void Open()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_open)
            {
                return;
            }

            _open = true;
            OrderingMetrics.StreamEvents.Add(1, OrderingMetrics.Tag("event", "client_opened"));
            SendRequestLocked();
        }
    }

    /// <summary>Closes the stream (nothing when closed): the orderer stops sending to this peer.</summary>
    public void Close()
    {
        lock (_gate)
        {
            if (!_open)
            {
                return;
            }

            _open = false;
            _retryTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _transport.SendFrame(Orderer, DeliveryCodec.Stop(_channel));
            OrderingMetrics.StreamEvents.Add(1, OrderingMetrics.Tag("event", "client_closed"));
            OrderingLog.ClientClosed(_logger, _peer, _channel, Orderer);
        }
    }

    /// <summary>
    /// Claims a frame from the orderer for this channel: a block (handed on while open) or a delivery status (logged;
    /// a refusal schedules a retry). False for anything else.
    /// </summary>
    public bool TryHandle(PeerEndpoint source, ReadOnlySpan<byte> envelope)
    {
        if (source != Orderer || !EnvelopeView.TryParse(envelope, out var view) || !view.Channel.SequenceEqual(_channelBytes))
        {
            return false;
        }

        if (view.ContentField == EnvelopeView.DataMessageContent)
        {
            bool open;
            lock (_gate)
            {
                open = _open && !_disposed;
            }

            if (open)
            {
                Interlocked.Increment(ref _received);
                OrderingMetrics.BlocksReceived.Add(1, OrderingMetrics.Tag("result", "delivered"));
                _onBlock(envelope, source);
            }
            else
            {
                Interlocked.Increment(ref _ignored);
                OrderingMetrics.BlocksReceived.Add(1, OrderingMetrics.Tag("result", "ignored"));
            }

            return true;
        }

        if (view.ContentField != DeliveryCodec.StatusContent || DeliveryCodec.TryParse(view) is not { } message)
        {
            return false;
        }

        var status = message.DeliverStatus;
        OrderingLog.ClientStatus(_logger, _peer, Orderer, _channel, status.Code.ToString(), status.Reason);
        if (status.Code != DeliverStatus.Types.Code.Ok)
        {
            ScheduleRetry($"refused: {status.Code}");
        }

        return true;
    }

    /// <summary>The transport lost the connection to <paramref name="peer"/>: when it is the orderer and the stream is open, reopen it later.</summary>
    public void OnConnectionLost(PeerEndpoint peer, string reason)
    {
        if (peer == Orderer)
        {
            ScheduleRetry($"connection lost: {reason}");
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _open = false;
            _retryTimer.Dispose();
        }
    }

    private void SendRequestLocked()
    {
        ulong start = _nextBlock();
        var status = _transport.SendFrame(Orderer, DeliveryCodec.Request(_channel, start, _org));
        if (status == SendStatus.Sent)
        {
            OrderingLog.ClientOpened(_logger, _peer, _channel, Orderer, start);
        }
        else
        {
            ScheduleRetryLocked($"request not sent: {status}");
        }
    }

    private void ScheduleRetry(string reason)
    {
        lock (_gate)
        {
            ScheduleRetryLocked(reason);
        }
    }

    private void ScheduleRetryLocked(string reason)
    {
        if (!_open || _disposed)
        {
            return;
        }

        OrderingMetrics.StreamEvents.Add(1, OrderingMetrics.Tag("event", "client_retry"));
        if (_retryLimiter.TryAcquire(out long suppressed))
        {
            OrderingLog.ClientRetry(_logger, _peer, _channel, Orderer, reason, _retryInterval, suppressed);
        }

        _retryTimer.Change(_retryInterval, Timeout.InfiniteTimeSpan);
    }

    private void Reopen()
    {
        lock (_gate)
        {
            if (_open && !_disposed)
            {
                SendRequestLocked();
            }
        }
    }
}
