using System.Buffers;
using Engine.Transport;

namespace Engine.Gossip.Pull;

internal sealed partial class PullEngine
{
    // Hello nonces this peer answered, with when they stop being valid (timestamps of _time).
    private readonly Dictionary<HelloKey, long> _remembered;
    private readonly DigestSet _shown = new();
    private readonly DigestSet _asked = new();
    private readonly ItemBuffer _items = new();

    private void OnHelloLocked(PeerEndpoint source, in PullMessage message)
    {
        long now = _time.GetTimestamp();
        var key = new HelloKey(source, message.Nonce);
        if (_remembered.Count >= _options.MaxRememberedHellos && !_remembered.ContainsKey(key))
        {
            ForgetExpiredLocked(now);
            if (_remembered.Count >= _options.MaxRememberedHellos)
            {
                Drop("Hello", source, $"{_remembered.Count} hellos are already remembered", ref _counters.HellosRefused);
                return;
            }
        }

        _remembered[key] = now + _requestWaitTicks;
        _shown.Clear();
        _source.CollectDigests(_shown, source, _options.MaxDigests);

        // A Digest must fit one frame: show only what fits.
        int itemsSize = 0, count = 0;
        int budget = _transport.MaxFramePayload - 64 - _source.Channel.Length;
        for (; count < _shown.Count; count++)
        {
            int size = PullMessageWriter.ItemSize(_shown[count].Length);
            if (itemsSize + size > budget)
            {
                break;
            }

            itemsSize += size;
        }

        for (int i = 0; i < _shown.Count; i++)
        {
            _shown.Value(i) = i < count ? 0 : -2;
        }

        if (SendItemsLocked(source, PullMessageType.Digest, message.Nonce, _shown, 0, itemsSize))
        {
            _counters.HellosAnswered++;
        }
    }

    private void ForgetExpiredLocked(long now)
    {
        foreach (var (key, expires) in _remembered)
        {
            if (expires <= now)
            {
                _remembered.Remove(key);
            }
        }
    }

    private void OnRequestLocked(PeerEndpoint source, in PullMessage message)
    {
        long now = _time.GetTimestamp();
        var key = new HelloKey(source, message.Nonce);
        if (!_remembered.Remove(key, out long expires))
        {
            Drop("Request", source, "unknown nonce, already answered, or sent by another peer", ref _counters.UnknownNonce);
            return;
        }

        if (expires <= now)
        {
            Drop("Request", source, "the hello's nonce expired", ref _counters.UnknownNonce);
            return;
        }

        // One answer per nonce, at most MaxItemsPerRequest distinct items, each still held and allowed.
        _asked.Clear();
        _items.Reset();
        int missing = 0;
        foreach (var digest in message.Items)
        {
            if (_asked.Count >= _options.MaxItemsPerRequest)
            {
                break;
            }

            _asked.AddOrGet(digest, out bool added);
            if (!added)
            {
                continue;
            }

            int before = _items.Written;
            if (_source.TryCopyItem(digest, source, _items) && _items.Written > before)
            {
                _items.EndItem();
            }
            else
            {
                missing++;
            }
        }

        int updates = SendUpdatesLocked(source, message.Nonce);
        _counters.RequestsAnswered++;
        GossipLog.Answered(_logger, _self, _source.MsgType, source, _items.Count, updates, missing);
    }

    /// <summary>Sends the collected items in Updates of at most MaxUpdateBytes of items each (a larger single item goes alone).</summary>
    private int SendUpdatesLocked(PeerEndpoint peer, ulong nonce)
    {
        int updates = 0, first = 0;
        while (first < _items.Count)
        {
            int last = first, itemsSize = 0;
            while (last < _items.Count)
            {
                int size = PullMessageWriter.ItemSize(_items.Item(last).Length);
                if (last > first && itemsSize + size > _options.MaxUpdateBytes)
                {
                    break;
                }

                itemsSize += size;
                last++;
            }

            int envelopeSize = PullMessageWriter.EnvelopeSize(PullMessageType.Update, nonce, _source.MsgType, _source.Channel, _source.Tag, itemsSize);
            if (envelopeSize <= _transport.MaxFramePayload)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(envelopeSize);
                var writer = PullMessageWriter.Begin(buffer, PullMessageType.Update, nonce, _source.MsgType, _source.Channel, _source.Tag, itemsSize);
                for (int i = first; i < last; i++)
                {
                    writer.AddItem(_items.Item(i));
                }

                if (SendLocked(peer, "Update", buffer.AsSpan(0, writer.Finish())))
                {
                    updates++;
                    _counters.UpdatesSent++;
                    _counters.ItemsSent += last - first;
                    GossipMetrics.PullItemsSent.Add(last - first);
                }

                ArrayPool<byte>.Shared.Return(buffer);
            }

            first = last;
        }

        return updates;
    }

    /// <summary>A reusable buffer of items (envelopes) written back to back, with their boundaries.</summary>
    private sealed class ItemBuffer : IBufferWriter<byte>
    {
        private byte[] _buffer = new byte[4096];
        private int[] _ends = new int[64];

        public int Written { get; private set; }

        public int Count { get; private set; }

        public ReadOnlySpan<byte> Item(int index)
        {
            int start = index == 0 ? 0 : _ends[index - 1];
            return _buffer.AsSpan(start, _ends[index] - start);
        }

        public void Reset()
        {
            Written = 0;
            Count = 0;
        }

        public void EndItem()
        {
            if (Count == _ends.Length)
            {
                Array.Resize(ref _ends, _ends.Length * 2);
            }

            _ends[Count++] = Written;
        }

        public void Advance(int count) => Written += count;

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsMemory(Written);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsSpan(Written);
        }

        private void Ensure(int sizeHint)
        {
            int need = Written + Math.Max(sizeHint, 1);
            if (need > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, need));
            }
        }
    }
}
