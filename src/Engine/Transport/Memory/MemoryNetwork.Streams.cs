using System.Buffers;

namespace Engine.Transport.Memory;

/// <content>
/// Streams: one <see cref="StreamChannel"/> per (sender, receiver), reliable and ordered, delayed like datagrams. A stream
/// to a peer that cannot be reached fails like a TCP connect: the send is accepted, the sender's handler later gets
/// OnConnectionLost, and further sends report Unreachable until that failure has been reported and the peer can be
/// reached again (as a real transport backs off after a failed connect).
/// </content>
internal sealed partial class MemoryNetwork
{
    private static readonly Action<object?> DeliverFrameCallback = static state =>
    {
        var channel = (StreamChannel)state!;
        channel.From.Network.DeliverFrame(channel);
    };

    private static readonly Action<object?> ConnectionLostCallback = static state =>
    {
        var notice = (ConnectionLostNotice)state!;
        var network = notice.Channel.From.Network;
        lock (network._gate)
        {
            notice.Channel.FailurePending = false;
        }

        network.NotifyConnectionLost(notice.Channel, notice.Reason);
    };

    /// <summary>Called by <see cref="MemoryTransport.SendFrame"/> once the size is checked.</summary>
    internal SendStatus SendFrame(MemoryTransport from, PeerEndpoint to, ReadOnlySpan<byte> payload)
    {
        int wireBytes = FrameHeader.Size + payload.Length;
        lock (_gate)
        {
            if (!from.Channels.TryGetValue(to, out var channel))
            {
                channel = new StreamChannel(from, to);
                from.Channels.Add(to, channel);
            }

            string? unreachable = UnreachableReasonLocked(from, to);
            if (channel.Broken)
            {
                if (unreachable is not null || channel.FailurePending)
                {
                    from.Counters.FrameDropped();
                    _totals.FrameDropped();
                    return SendStatus.Unreachable;
                }

                channel.Broken = false; // reconnect
            }

            from.Counters.FrameSent(wireBytes);
            _totals.FrameSent(wireBytes);
            if (unreachable is not null)
            {
                // The connect fails after the network's delay, as a real one would; this frame is lost with it.
                BreakLocked(channel);
                channel.FailurePending = true;
                from.Counters.FrameDropped();
                _totals.FrameDropped();
                Schedule(NextDelayTicksLocked(from), ConnectionLostCallback, new ConnectionLostNotice(channel, unreachable), from);
                return SendStatus.Sent;
            }

            long now = _time.GetUtcNow().UtcTicks;
            long due = Math.Max(now + NextDelayTicksLocked(from), channel.LastDueTicks);
            channel.LastDueTicks = due;
            var buffer = RentBody(payload);
            channel.Frames.Enqueue(new PendingFrame(buffer, payload.Length, channel.Epoch));
            Schedule(due - now, DeliverFrameCallback, channel, _nodes[to]);
            return SendStatus.Sent;
        }
    }

    private string? UnreachableReasonLocked(MemoryTransport from, PeerEndpoint to)
    {
        if (!_nodes.TryGetValue(to, out var target) || target.Handler is null)
        {
            return "connection refused: no node is listening there";
        }

        return CanReachLocked(from, target) ? null : "the peer is unreachable (network partition)";
    }

    private static void BreakLocked(StreamChannel channel)
    {
        channel.Broken = true;
        channel.Epoch++;
    }

    private void DeliverFrame(StreamChannel channel)
    {
        // Serializes this stream's deliveries, so with real timers a frame cannot overtake the one before it.
        lock (channel.DeliveryLock)
        {
            PendingFrame frame;
            ITransportHandler? handler = null;
            MemoryTransport? target = null;
            string? lostReason = null;
            lock (_gate)
            {
                frame = channel.Frames.Dequeue();
                if (frame.Epoch == channel.Epoch)
                {
                    lostReason = UnreachableReasonLocked(channel.From, channel.To);
                    if (lostReason is null)
                    {
                        target = _nodes[channel.To];
                        handler = target.Handler;
                    }
                    else
                    {
                        BreakLocked(channel);
                    }
                }
            }

            var from = channel.From.LocalEndpoint;
            int wireBytes = FrameHeader.Size + frame.Length;
            if (handler is null)
            {
                channel.From.Counters.FrameDropped();
                _totals.FrameDropped();
            }
            else
            {
                target!.Counters.FrameDelivered(wireBytes);
                _totals.FrameDelivered(wireBytes);
                try
                {
                    handler.OnFrame(from, new ReadOnlySequence<byte>(frame.Buffer, 0, frame.Length));
                }
                catch (Exception e)
                {
                    OnHandlerError(target, e, "frame", from);
                }
            }

            ReturnBody(frame.Buffer);
            if (lostReason is not null)
            {
                if (_virtualTime is { IsParallel: true })
                {
                    // This runs as the receiver's event: the sender hears of the loss in an event of its own, a delay
                    // later (as a reset travels back), never from another node's event.
                    lock (_gate)
                    {
                        channel.FailurePending = true;
                        Schedule(Policy.Delay.Ticks, ConnectionLostCallback, new ConnectionLostNotice(channel, lostReason), channel.From);
                    }
                }
                else
                {
                    NotifyConnectionLost(channel, lostReason);
                }
            }
        }
    }

    private void NotifyConnectionLost(StreamChannel channel, string reason)
    {
        var sender = channel.From;
        MemoryLog.ConnectionLost(_logger, sender.LocalEndpoint, channel.To, reason);
        var handler = sender.Handler;
        if (handler is null || sender.IsDisposed)
        {
            return;
        }

        try
        {
            handler.OnConnectionLost(channel.To, reason);
        }
        catch (Exception e)
        {
            OnHandlerError(sender, e, "lost connection", channel.To);
        }
    }

    private sealed record ConnectionLostNotice(StreamChannel Channel, string Reason);
}
