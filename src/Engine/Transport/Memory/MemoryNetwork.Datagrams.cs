namespace Engine.Transport.Memory;

/// <content>Datagrams: lost, duplicated and delayed per the policy; blocked by partitions; dropped at absent nodes.</content>
internal sealed partial class MemoryNetwork
{
    private static readonly Action<object?> DeliverDatagramCallback = static state =>
    {
        var datagram = (PendingDatagram)state!;
        datagram.Network.DeliverDatagram(datagram);
    };

    private readonly Stack<PendingDatagram> _datagramPool = new();

    /// <summary>Called by <see cref="MemoryTransport.SendDatagram"/> once the size is checked.</summary>
    internal void SendDatagram(MemoryTransport from, PeerEndpoint to, ReadOnlySpan<byte> payload)
    {
        int wireBytes = DatagramHeader.Size + payload.Length;
        from.Counters.DatagramSent(wireBytes);
        _totals.DatagramSent(wireBytes);
        lock (_gate)
        {
            if (!_nodes.TryGetValue(to, out var target) || !CanReachLocked(from, target) || Chance(from, Policy.DropProbability))
            {
                // Like UDP: the sender is not told.
                from.Counters.DatagramDropped();
                _totals.DatagramDropped();
                return;
            }

            bool duplicate = Chance(from, Policy.DuplicateProbability);
            ScheduleDatagramLocked(from, target, payload);
            if (duplicate)
            {
                from.Counters.DatagramDuplicated();
                _totals.DatagramDuplicated();
                ScheduleDatagramLocked(from, target, payload);
            }
        }
    }

    /// <summary>Draws the random source only when the probability calls for it, so a zero never shifts the sequence.</summary>
    private bool Chance(MemoryTransport from, double probability) => probability > 0 && RandomOf(from).NextDouble() < probability;

    private void ScheduleDatagramLocked(MemoryTransport from, MemoryTransport to, ReadOnlySpan<byte> payload)
    {
        var datagram = _datagramPool.Count > 0 ? _datagramPool.Pop() : new PendingDatagram(this);
        datagram.From = from.LocalEndpoint;
        datagram.To = to.LocalEndpoint;
        datagram.Sender = from;
        datagram.Target = to;
        datagram.TopologyVersion = _topologyVersion;
        datagram.Length = payload.Length;
        datagram.Buffer = RentBody(payload);
        Schedule(NextDelayTicksLocked(from), DeliverDatagramCallback, datagram, to);
    }

    private void DeliverDatagram(PendingDatagram datagram)
    {
        MemoryTransport? target = datagram.Target;
        MemoryTransport? sender = datagram.Sender;
        ITransportHandler? handler = null;
        if (!sender!.IsDisposed && !target!.IsDisposed && datagram.TopologyVersion == Volatile.Read(ref _topologyVersion))
        {
            // Fast path: both nodes still run and reachability has not changed since the send checked it.
            handler = target.Handler;
        }
        else
        {
            lock (_gate)
            {
                _nodes.TryGetValue(datagram.From, out sender);

                // Checked again on arrival: the node may have stopped, or a partition may have started, while it was in flight.
                if (_nodes.TryGetValue(datagram.To, out target) && CanReachLocked(datagram.From, target))
                {
                    handler = target.Handler;
                }
            }
        }

        var from = datagram.From;
        int wireBytes = DatagramHeader.Size + datagram.Length;
        if (handler is null)
        {
            sender?.Counters.DatagramDropped();

            _totals.DatagramDropped();
        }
        else
        {
            target!.Counters.DatagramDelivered(wireBytes);
            _totals.DatagramDelivered(wireBytes);
            try
            {
                handler.OnDatagram(from, datagram.Buffer.AsSpan(0, datagram.Length));
            }
            catch (Exception e)
            {
                OnHandlerError(target, e, "datagram", from);
            }
        }

        ReturnBody(datagram.Buffer);
        datagram.Buffer = [];
        datagram.Sender = null;
        datagram.Target = null;
        lock (_gate)
        {
            _datagramPool.Push(datagram);
        }
    }

    /// <summary>A datagram in flight; pooled, so a warm network allocates nothing per datagram.</summary>
    private sealed class PendingDatagram(MemoryNetwork network)
    {
        public MemoryNetwork Network { get; } = network;

        public PeerEndpoint From { get; set; }

        public PeerEndpoint To { get; set; }

        /// <summary>The sending node, as registered when sent.</summary>
        public MemoryTransport? Sender { get; set; }

        /// <summary>The node registered at <see cref="To"/> when sent.</summary>
        public MemoryTransport? Target { get; set; }

        /// <summary>The network's topology version when the send checked reachability.</summary>
        public long TopologyVersion { get; set; }

        public byte[] Buffer { get; set; } = [];

        public int Length { get; set; }
    }
}
