namespace Engine.Transport.Memory;

/// <content>
/// Partitions: each rule is two sets of endpoints that cannot reach each other. A node carries one bit per rule for each
/// side it is on, so "can A reach B" is two AND operations, whatever the number of nodes. Up to 64 rules at once.
/// </content>
internal sealed partial class MemoryNetwork
{
    private const int MaxPartitions = 64;

    private readonly (HashSet<PeerEndpoint> A, HashSet<PeerEndpoint> B)?[] _partitions = new (HashSet<PeerEndpoint>, HashSet<PeerEndpoint>)?[MaxPartitions];
    private readonly HashSet<PeerEndpoint> _isolated = [];

    /// <summary>
    /// Bumped (under the lock) by every change of partitions or isolation: a datagram checked at send time under the same
    /// version, between two nodes still running, needs no second check on arrival.
    /// </summary>
    private long _topologyVersion;

    /// <summary>
    /// Cuts every path between <paramref name="groupA"/> and <paramref name="groupB"/> (both directions, datagrams and frames)
    /// until <see cref="Heal"/>. Endpoints in neither group are unaffected; endpoints that join later are placed by address.
    /// Returns the partition's number.
    /// </summary>
    public int Partition(IEnumerable<PeerEndpoint> groupA, IEnumerable<PeerEndpoint> groupB)
    {
        ArgumentNullException.ThrowIfNull(groupA);
        ArgumentNullException.ThrowIfNull(groupB);
        var a = new HashSet<PeerEndpoint>(groupA);
        var b = new HashSet<PeerEndpoint>(groupB);
        if (a.Overlaps(b))
        {
            throw new ArgumentException("The two sides of a partition must not share an endpoint.", nameof(groupB));
        }

        lock (_gate)
        {
            int index = Array.IndexOf(_partitions, null);
            if (index < 0)
            {
                throw new InvalidOperationException($"At most {MaxPartitions} partitions can be in force at once; heal first.");
            }

            _partitions[index] = (a, b);
            _topologyVersion++;
            ulong bit = 1UL << index;
            foreach (var endpoint in a)
            {
                if (_nodes.TryGetValue(endpoint, out var node))
                {
                    node.PartitionSideA |= bit;
                }
            }

            foreach (var endpoint in b)
            {
                if (_nodes.TryGetValue(endpoint, out var node))
                {
                    node.PartitionSideB |= bit;
                }
            }

            MemoryLog.Partitioned(_logger, index, a.Count, b.Count);
            return index;
        }
    }

    /// <summary>Isolates <paramref name="endpoint"/>: it reaches no one and no one reaches it, until <see cref="Reconnect"/> or <see cref="Heal"/>.</summary>
    public void Disconnect(PeerEndpoint endpoint)
    {
        lock (_gate)
        {
            _isolated.Add(endpoint);
            _topologyVersion++;
            if (_nodes.TryGetValue(endpoint, out var node))
            {
                node.Isolated = true;
            }

            MemoryLog.Disconnected(_logger, endpoint);
        }
    }

    /// <summary>Undoes <see cref="Disconnect"/> for one endpoint (partitions stay).</summary>
    public void Reconnect(PeerEndpoint endpoint)
    {
        lock (_gate)
        {
            _isolated.Remove(endpoint);
            _topologyVersion++;
            if (_nodes.TryGetValue(endpoint, out var node))
            {
                node.Isolated = false;
            }

            MemoryLog.Reconnected(_logger, endpoint);
        }
    }

    /// <summary>Removes every partition and isolation. Broken streams reconnect on their next send.</summary>
    public void Heal()
    {
        lock (_gate)
        {
            int partitions = 0;
            for (int i = 0; i < _partitions.Length; i++)
            {
                if (_partitions[i] is not null)
                {
                    partitions++;
                    _partitions[i] = null;
                }
            }

            int isolated = _isolated.Count;
            _topologyVersion++;
            _isolated.Clear();
            foreach (var node in _nodes.Values)
            {
                node.PartitionSideA = 0;
                node.PartitionSideB = 0;
                node.Isolated = false;
            }

            MemoryLog.Healed(_logger, partitions, isolated);
        }
    }

    /// <summary>True when a message from <paramref name="from"/> to <paramref name="to"/> is not blocked by a partition or isolation.</summary>
    public bool CanReach(PeerEndpoint from, PeerEndpoint to)
    {
        lock (_gate)
        {
            SidesLocked(from, out ulong fromA, out ulong fromB, out bool fromIsolated);
            SidesLocked(to, out ulong toA, out ulong toB, out bool toIsolated);
            return from == to || (!fromIsolated && !toIsolated && ((fromA & toB) | (fromB & toA)) == 0);
        }
    }

    private static bool CanReachLocked(MemoryTransport from, MemoryTransport to) =>
        ReferenceEquals(from, to)
        || (!from.Isolated && !to.Isolated && ((from.PartitionSideA & to.PartitionSideB) | (from.PartitionSideB & to.PartitionSideA)) == 0);

    /// <summary>Reachability from an endpoint that may have left the network (a message still in flight) to a node.</summary>
    private bool CanReachLocked(PeerEndpoint from, MemoryTransport to)
    {
        if (_nodes.TryGetValue(from, out var sender))
        {
            return CanReachLocked(sender, to);
        }

        SidesLocked(from, out ulong fromA, out ulong fromB, out bool fromIsolated);
        return !fromIsolated && !to.Isolated && ((fromA & to.PartitionSideB) | (fromB & to.PartitionSideA)) == 0;
    }

    private void SidesLocked(PeerEndpoint endpoint, out ulong sideA, out ulong sideB, out bool isolated)
    {
        if (_nodes.TryGetValue(endpoint, out var node))
        {
            sideA = node.PartitionSideA;
            sideB = node.PartitionSideB;
            isolated = node.Isolated;
            return;
        }

        sideA = 0;
        sideB = 0;
        for (int i = 0; i < _partitions.Length; i++)
        {
            if (_partitions[i] is { } rule)
            {
                if (rule.A.Contains(endpoint))
                {
                    sideA |= 1UL << i;
                }
                else if (rule.B.Contains(endpoint))
                {
                    sideB |= 1UL << i;
                }
            }
        }

        isolated = _isolated.Contains(endpoint);
    }

    private void AssignPartitionSidesLocked(MemoryTransport node)
    {
        // The node is not registered yet, so this reads the rules by address.
        SidesLocked(node.LocalEndpoint, out ulong sideA, out ulong sideB, out bool isolated);
        node.PartitionSideA = sideA;
        node.PartitionSideB = sideB;
        node.Isolated = isolated;
    }
}
