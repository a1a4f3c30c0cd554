using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace Engine.Transport.Tcp;

/// <summary>
/// The outbound side: any thread writes frames into the output pipe under a short lock; one flush per burst is scheduled on
/// the thread pool; the send loop hands each flushed segment to the socket.
/// </summary>
internal sealed partial class TcpConnection : IThreadPoolWorkItem
{
    private readonly Lock _sendLock = new();
    private readonly SentFrameLedger _ledger = new();

    // Guarded by _sendLock.
    private long _bytesWritten;
    private bool _writerDone;
    private bool _retiring;
    private bool _flushScheduled;

    // Written by the send loop only.
    private long _bytesSent;

    // Set before this connection is published as the replacement of a duplicate: frames wait until that one has drained.
    private volatile TcpConnection? _predecessor;

    /// <summary>True once this connection takes no new frames and is draining before it closes.</summary>
    public bool IsRetiring
    {
        get
        {
            lock (_sendLock)
            {
                return _retiring;
            }
        }
    }

    /// <summary>Bytes written into the output pipe and not yet handed to the socket.</summary>
    public long QueuedBytes
    {
        get
        {
            lock (_sendLock)
            {
                return _bytesWritten - Volatile.Read(ref _bytesSent);
            }
        }
    }

    /// <summary>
    /// Queues one message frame. Callable from any thread; never blocks on the network. Returns
    /// <see cref="SendStatus.QueueFull"/> when the bytes queued and not yet sent would exceed the send-queue limit (an empty
    /// queue always takes one frame, so a frame larger than the limit can still go), and <see cref="SendStatus.Closed"/>
    /// when the connection is closed or retiring (the caller finds the peer's current connection and tries again).
    /// </summary>
    public SendStatus TrySend(ReadOnlySpan<byte> body)
    {
        long wireEstimate = FrameHeader.Size + (long)body.Length;
        int written;
        bool compressed;
        lock (_sendLock)
        {
            if (_writerDone)
            {
                return SendStatus.Closed;
            }

            long queued = _bytesWritten - Volatile.Read(ref _bytesSent);
            if (queued > 0 && queued + wireEstimate > _options.MaxSendQueueBytes)
            {
                written = 0;
                compressed = false;
            }
            else
            {
                written = FrameWriter.Write(_output.Writer, FrameType.Message, body, _options.CompressionThreshold, out compressed);
                _bytesWritten += written;
                _ledger.Trim(Volatile.Read(ref _bytesSent));
                _ledger.Add(_bytesWritten);
                ScheduleFlush();
            }
        }

        if (written == 0)
        {
            _manager.CountQueueFull();
            return SendStatus.QueueFull;
        }

        Volatile.Write(ref _lastUse, _time.GetTimestamp());
        _manager.CountSent(compressed);
        return SendStatus.Sent;
    }

    /// <summary>
    /// Stops taking frames and closes once everything already queued has been sent and the peer has closed its end: the
    /// graceful exit of a duplicate connection.
    /// </summary>
    public void Retire()
    {
        lock (_sendLock)
        {
            if (_writerDone)
            {
                return;
            }

            _retiring = true;
            _writerDone = true;
            FlushNow();
            _output.Writer.Complete();
        }
    }

    /// <summary>Makes this connection hold its frames until <paramref name="predecessor"/> (a retiring duplicate) has closed.</summary>
    internal void FollowAfter(TcpConnection? predecessor) => _predecessor = predecessor;

    void IThreadPoolWorkItem.Execute()
    {
        lock (_sendLock)
        {
            _flushScheduled = false;
            if (!_writerDone)
            {
                FlushNow();
            }
        }
    }

    private void SendKeepalive(long now)
    {
        Volatile.Write(ref _lastSend, now);
        lock (_sendLock)
        {
            if (!_writerDone)
            {
                _bytesWritten += FrameWriter.Write(_output.Writer, FrameType.Keepalive, [], 0, out _);
                ScheduleFlush();
            }
        }
    }

    private void WriteControlFrame(FrameType type, ReadOnlySpan<byte> body)
    {
        lock (_sendLock)
        {
            _bytesWritten += FrameWriter.Write(_output.Writer, type, body, 0, out _);
        }
    }

    // Caller holds _sendLock. One flush per burst: frames written while a flush is pending ride along with it.
    private void ScheduleFlush()
    {
        if (!_flushScheduled)
        {
            _flushScheduled = true;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    // Caller holds _sendLock (the pipe writer is single-producer).
    private void FlushNow()
    {
        // pauseWriterThreshold is 0, so the output pipe never makes a flush wait: it completes synchronously.
        ValueTask<FlushResult> flush = _output.Writer.FlushAsync();
        if (flush.IsCompleted)
        {
            flush.GetAwaiter().GetResult();
        }
        else
        {
            _ = flush.AsTask();
        }
    }

    /// <summary>Hands flushed bytes to the socket, segment by segment, until the output pipe completes or the connection closes.</summary>
    private async Task SendLoopAsync()
    {
        PipeReader reader = _output.Reader;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled || _closed)
                {
                    break;
                }

                if (_predecessor is { } predecessor)
                {
                    await WaitForPredecessorAsync(predecessor).ConfigureAwait(false);
                    _predecessor = null;
                    if (_closed)
                    {
                        break;
                    }
                }

                ReadOnlySequence<byte> buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    long sent = 0;
                    foreach (ReadOnlyMemory<byte> segment in buffer)
                    {
                        ReadOnlyMemory<byte> pending = segment;
                        while (!pending.IsEmpty)
                        {
                            int n;
                            if (_tls is null)
                            {
                                n = await _socket.SendAsync(pending, SocketFlags.None).ConfigureAwait(false);
                            }
                            else
                            {
                                await _tls.WriteAsync(pending).ConfigureAwait(false);
                                n = pending.Length;
                            }

                            pending = pending[n..];
                            sent += n;
                            Volatile.Write(ref _bytesSent, _bytesSent + n);
                        }
                    }

                    Volatile.Write(ref _lastSend, _time.GetTimestamp());
                    _manager.CountBytesSent(sent);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    if (_retiring && !_closed)
                    {
                        // Drained: tell the peer we are done; it closes its end once it has read everything.
                        if (_tls is not null)
                        {
                            await _tls.ShutdownAsync().ConfigureAwait(false);
                        }

                        _socket.Shutdown(SocketShutdown.Send);
                    }

                    break;
                }
            }
        }
        catch (SocketException e)
        {
            Close(CloseCause.SendFailed, $"send failed: {e.SocketErrorCode}");
        }
        catch (ObjectDisposedException)
        {
            Close(CloseCause.SendFailed, "send failed: socket closed");
        }
        catch (IOException e)
        {
            Close(CloseCause.SendFailed, $"send failed: {e.Message}");
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task WaitForPredecessorAsync(TcpConnection predecessor)
    {
        try
        {
            // Frames to one peer must arrive in order: the duplicate's queued frames go first.
            await predecessor.Completion.WaitAsync(_options.ConnectTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            predecessor.Close(CloseCause.Retired, $"retired connection did not drain within {_options.ConnectTimeout.TotalMilliseconds:0} ms");
        }
    }
}
