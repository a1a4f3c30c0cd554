using Engine.Protocol;
using Engine.Transport;
using Member = Engine.Membership.Member;

namespace Engine.Gossip.Pull;

internal sealed partial class PullEngine
{
    private readonly PeerEndpoint[] _helloPeers;
    private readonly ulong[] _helloNonces;
    private readonly bool[] _digestReceived;
    private readonly int[] _requestedPerHolder;
    private readonly int[] _requestSizes;
    private readonly Member[] _targets;

    // Missing items of the round: Value = index of the chosen holder (-1: not requested this round),
    // Aux = holders seen so far while collecting, then 1 once the item arrived.
    private readonly DigestSet _candidates = new();
    private readonly byte[] _itemDigest = new byte[MessageId.MaxDigestLength];

    private Phase _phase;
    private int _helloCount;
    private int _digestsThisRound;
    private int _requestedThisRound;
    private int _receivedThisRound;

    /// <summary>Starts a round now unless one is under way (the timer calls it every pull interval; tests may call it).</summary>
    public void StartRound()
    {
        lock (_gate)
        {
            if (_disposed || _phase != Phase.Idle)
            {
                return;
            }

            if (_self.IsEmpty)
            {
                _self = _transport.LocalEndpoint;
            }

            int found = RouteSampler.Sample(_members, in _route, _self, _targets);
            if (found == 0)
            {
                return;
            }

            _counters.Rounds++;
            GossipMetrics.PullRounds.Add(1);
            _candidates.Clear();
            _helloCount = 0;
            _digestsThisRound = 0;
            Span<byte> hello = stackalloc byte[64];
            for (int i = 0; i < found; i++)
            {
                var peer = _targets[i].Endpoint;
                _targets[i] = null!;
                ulong nonce = NewNonceLocked();
                _helloPeers[_helloCount] = peer;
                _helloNonces[_helloCount] = nonce;
                _digestReceived[_helloCount] = false;
                _requestedPerHolder[_helloCount] = 0;
                _helloCount++;
                var writer = PullMessageWriter.Begin(hello, PullMessageType.Hello, nonce, _source.MsgType, _source.Channel, _source.Tag, itemsSize: 0);
                if (SendLocked(peer, "Hello", hello[..writer.Finish()]))
                {
                    _counters.HellosSent++;
                }
            }

            GossipLog.RoundStarted(_logger, _self, _source.MsgType, found);
            _phase = Phase.CollectingDigests;
            _phaseTimer?.Change(_options.DigestWaitTime, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>A fresh nonzero nonce, distinct from the round's other nonces.</summary>
    private ulong NewNonceLocked()
    {
        while (true)
        {
            ulong nonce = (ulong)_random.NextInt64(1, long.MaxValue) ^ ((ulong)_random.Next() << 63);
            if (nonce != 0 && IndexOfNonce(nonce) < 0)
            {
                return nonce;
            }
        }
    }

    private int IndexOfNonce(ulong nonce)
    {
        for (int i = 0; i < _helloCount; i++)
        {
            if (_helloNonces[i] == nonce)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Finds the hello a Digest or Update answers; drops and counts it when there is none, or it was sent to another peer.</summary>
    private int MatchHelloLocked(PeerEndpoint source, ulong nonce, string message)
    {
        int index = _phase == Phase.Idle ? -1 : IndexOfNonce(nonce);
        if (index < 0)
        {
            Drop(message, source, "unknown or expired nonce", ref _counters.UnknownNonce);
            return -1;
        }

        if (_helloPeers[index] != source)
        {
            Drop(message, source, $"nonce belongs to {_helloPeers[index]}", ref _counters.MismatchedSender);
            return -1;
        }

        return index;
    }

    private void OnDigestLocked(PeerEndpoint source, in PullMessage message)
    {
        int holder = MatchHelloLocked(source, message.Nonce, "Digest");
        if (holder < 0)
        {
            return;
        }

        if (_phase != Phase.CollectingDigests || _digestReceived[holder])
        {
            Drop("Digest", source, _digestReceived[holder] ? "second digest for one hello" : "digest after the digest wait time", ref _counters.Unexpected);
            return;
        }

        _digestReceived[holder] = true;
        _digestsThisRound++;
        _counters.DigestsReceived++;
        int seen = 0;
        foreach (var digest in message.Items)
        {
            if (++seen > _options.MaxDigests || _candidates.Count >= _options.MaxDigests)
            {
                break;
            }

            if (!_source.Wants(digest, source))
            {
                continue;
            }

            // Reservoir sampling over the holders of each item: the k-th holder replaces the choice with probability
            // 1/k, so every holder is equally likely without keeping a list of them.
            int index = _candidates.AddOrGet(digest, out _);
            int holders = ++_candidates.Aux(index);
            if (_random.Next(holders) == 0)
            {
                _candidates.Value(index) = holder;
            }
        }
    }

    private void OnPhaseTimer()
    {
        lock (_gate)
        {
            if (_phase == Phase.CollectingDigests)
            {
                SendRequestsLocked();
            }
            else if (_phase == Phase.AwaitingUpdates)
            {
                EndRoundLocked();
            }
        }
    }

    private void SendRequestsLocked()
    {
        var itemsSize = _requestSizes;
        Array.Clear(itemsSize);
        for (int i = 0; i < _candidates.Count; i++)
        {
            int holder = _candidates.Value(i);
            _candidates.Aux(i) = 0;
            if (_requestedPerHolder[holder] >= _options.MaxItemsPerRequest)
            {
                _candidates.Value(i) = -1; // bounded round: the rest waits for the next one
                continue;
            }

            _requestedPerHolder[holder]++;
            itemsSize[holder] += PullMessageWriter.ItemSize(_candidates[i].Length);
        }

        int holders = 0;
        _requestedThisRound = 0;
        _receivedThisRound = 0;
        for (int h = 0; h < _helloCount; h++)
        {
            if (_requestedPerHolder[h] == 0)
            {
                continue;
            }

            holders++;
            if (SendItemsLocked(_helloPeers[h], PullMessageType.Request, _helloNonces[h], _candidates, h, itemsSize[h]))
            {
                _counters.RequestsSent++;
                _requestedThisRound += _requestedPerHolder[h];
            }
            else
            {
                _requestedPerHolder[h] = 0;
            }
        }

        GossipLog.Requesting(_logger, _self, _source.MsgType, _digestsThisRound, _helloCount, _candidates.Count, holders);
        _counters.ItemsRequested += _requestedThisRound;
        if (_requestedThisRound == 0)
        {
            EndRoundLocked();
            return;
        }

        _phase = Phase.AwaitingUpdates;
        _phaseTimer?.Change(_options.ResponseWaitTime, Timeout.InfiniteTimeSpan);
    }

    private void OnUpdateLocked(PeerEndpoint source, in PullMessage message)
    {
        int holder = MatchHelloLocked(source, message.Nonce, "Update");
        if (holder < 0)
        {
            return;
        }

        if (_phase != Phase.AwaitingUpdates || _requestedPerHolder[holder] == 0)
        {
            Drop("Update", source, "no request was sent for this nonce", ref _counters.Unexpected);
            return;
        }

        foreach (var item in message.Items)
        {
            if (!_source.TryGetDigest(item, _itemDigest, out int length))
            {
                Drop("Update", source, "an item is malformed or of another kind", ref _counters.BadItems);
                continue;
            }

            int index = _candidates.IndexOf(_itemDigest.AsSpan(0, length));
            if (index < 0 || _candidates.Value(index) != holder)
            {
                Drop("Update", source, "an item was not requested from this peer", ref _counters.Unrequested);
                continue;
            }

            if (_candidates.Aux(index) != 0)
            {
                Drop("Update", source, "an item was already received (replay)", ref _counters.Unrequested);
                continue;
            }

            _candidates.Aux(index) = 1;
            _receivedThisRound++;
            _counters.ItemsReceived++;
            GossipMetrics.PullItemsReceived.Add(1);
            _source.Accept(item, source);
        }

        if (_receivedThisRound == _requestedThisRound)
        {
            EndRoundLocked();
        }
    }

    private void EndRoundLocked()
    {
        if (_phase == Phase.AwaitingUpdates)
        {
            _counters.ItemsNotReceived += _requestedThisRound - _receivedThisRound;
            GossipLog.RoundFinished(_logger, _self, _source.MsgType, _receivedThisRound, _requestedThisRound);
        }

        _phase = Phase.Idle;
        _phaseTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        // Forget the round's nonces: a late or replayed Update now meets "unknown nonce".
        Array.Clear(_helloNonces);
        _helloCount = 0;
        _requestedThisRound = 0;
        _receivedThisRound = 0;
    }
}
