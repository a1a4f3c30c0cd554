using System.Buffers;

namespace Engine.Transport.Tcp;

/// <summary>
/// The stream offsets at which queued message frames end, oldest first, so a failing connection can count exactly how many
/// accepted frames never reached the socket. A ring buffer of pooled longs that grows by doubling; not thread-safe (the
/// connection's send lock guards it).
/// </summary>
internal sealed class SentFrameLedger
{
    private const int InitialCapacity = 64;

    private long[] _ends = ArrayPool<long>.Shared.Rent(InitialCapacity);
    private int _head;
    private int _count;

    public int Count => _count;

    /// <summary>Records a frame that ends at stream offset <paramref name="end"/> (offsets only grow).</summary>
    public void Add(long end)
    {
        if (_count == _ends.Length)
        {
            Grow();
        }

        _ends[(_head + _count) % _ends.Length] = end;
        _count++;
    }

    /// <summary>Forgets the frames whose last byte is at or before <paramref name="sent"/>.</summary>
    public void Trim(long sent)
    {
        while (_count > 0 && _ends[_head] <= sent)
        {
            _head = (_head + 1) % _ends.Length;
            _count--;
        }
    }

    /// <summary>How many recorded frames have bytes beyond <paramref name="sent"/>.</summary>
    public int CountUnsent(long sent)
    {
        Trim(sent);
        return _count;
    }

    public void Release()
    {
        var ends = Interlocked.Exchange(ref _ends, []);
        if (ends.Length > 0)
        {
            ArrayPool<long>.Shared.Return(ends);
        }

        _head = 0;
        _count = 0;
    }

    private void Grow()
    {
        var larger = ArrayPool<long>.Shared.Rent(Math.Max(InitialCapacity, _ends.Length * 2));
        for (int i = 0; i < _count; i++)
        {
            larger[i] = _ends[(_head + i) % _ends.Length];
        }

        if (_ends.Length > 0)
        {
            ArrayPool<long>.Shared.Return(_ends);
        }

        _ends = larger;
        _head = 0;
    }
}
