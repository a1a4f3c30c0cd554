using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace Engine.Transport.Tcp;

/// <summary>The inbound side: socket → input pipe → frames → handler.</summary>
internal sealed partial class TcpConnection
{
    private volatile bool _handshakeReceived;
    private long _partialSince;

    /// <summary>Moves bytes from the socket into the input pipe until the stream ends, fails or the pipe is closed.</summary>
    private async Task ReceiveLoopAsync()
    {
        PipeWriter writer = _input.Writer;
        try
        {
            bool moreLikely = false;
            while (true)
            {
                if (!moreLikely && _tls is null)
                {
                    // Wait for data without holding a buffer, so an idle connection pins no pipe segment (as Kestrel does).
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                }

                Memory<byte> memory = writer.GetMemory(SegmentSize / 2);
                int received = _tls is null
                    ? await _socket.ReceiveAsync(memory, SocketFlags.None).ConfigureAwait(false)
                    : await _tls.ReadAsync(memory).ConfigureAwait(false);
                if (received == 0)
                {
                    break; // the remote end finished sending: the process loop closes once it has delivered what is left
                }

                moreLikely = received == memory.Length;
                writer.Advance(received);
                Volatile.Write(ref _lastReceive, _time.GetTimestamp());
                _manager.CountReceived(received);

                FlushResult flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (SocketException e)
        {
            Close(CloseCause.ReceiveFailed, $"receive failed: {e.SocketErrorCode}");
        }
        catch (ObjectDisposedException)
        {
            Close(CloseCause.ReceiveFailed, "receive failed: socket closed");
        }
        catch (IOException e)
        {
            Close(CloseCause.ReceiveFailed, $"receive failed: {e.Message}");
        }
        finally
        {
            await writer.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Parses frames out of the input pipe and delivers them, until the stream ends or the connection closes.</summary>
    private async Task ProcessLoopAsync()
    {
        PipeReader reader = _input.Reader;
        int maxPayload = _options.MaxFramePayload;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled || _closed)
                {
                    break;
                }

                ReadOnlySequence<byte> buffer = result.Buffer;
                bool progressed = false;
                bool healthy = true;
                while (healthy)
                {
                    var status = FrameReader.TryReadFrame(ref buffer, maxPayload, out var frame, out var error);
                    if (status == FrameReadStatus.Incomplete)
                    {
                        break;
                    }

                    if (status == FrameReadStatus.Malformed)
                    {
                        OnMalformedFrame(error, buffer);
                        healthy = false;
                        break;
                    }

                    progressed = true;
                    healthy = OnFrameReceived(frame);
                    frame.Release();
                }

                if (!healthy)
                {
                    reader.AdvanceTo(buffer.Start);
                    break;
                }

                TrackPartialFrame(buffer, progressed);
                reader.AdvanceTo(buffer.Start, buffer.End);

                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        Close(CloseCause.RemoteClosed, $"remote closed in the middle of a frame ({buffer.Length} bytes unread)");
                    }
                    else
                    {
                        Close(_retiring ? CloseCause.Retired : CloseCause.RemoteClosed);
                    }

                    break;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private bool OnFrameReceived(in ReceivedFrame frame)
    {
        if (frame.Type == FrameType.Handshake)
        {
            return OnHandshake(frame.Payload);
        }

        if (!_handshakeReceived)
        {
            Close(CloseCause.ProtocolViolation, $"{frame.Type} frame before the handshake");
            return false;
        }

        if (frame.Type == FrameType.Keepalive)
        {
            _manager.CountKeepalive();
            return true;
        }

        Volatile.Write(ref _lastUse, Volatile.Read(ref _lastReceive)); // the read that brought the frame: no clock read per frame
        _manager.Deliver(this, frame);
        return !_closed;
    }

    private bool OnHandshake(in ReadOnlySequence<byte> body)
    {
        if (_handshakeReceived)
        {
            Close(CloseCause.ProtocolViolation, "second handshake on one connection");
            return false;
        }

        if (!Handshake.TryParse(body, RemoteAddress, out var endpoint, out string? problem))
        {
            Close(CloseCause.ProtocolViolation, $"bad handshake: {problem}");
            return false;
        }

        if (_tlsCertificate is { } certificate && Handshake.CheckBinding(body, certificate) is { } unbound)
        {
            _manager.OnUnauthenticated(this, unbound);
            Close(CloseCause.Unauthenticated, $"unauthenticated: {unbound}");
            return false;
        }

        _handshakeReceived = true;
        if (IsInbound)
        {
            Peer = endpoint;
            _manager.OnInboundHandshake(this);
        }

        return !_closed;
    }

    private void OnMalformedFrame(FrameError error, in ReadOnlySequence<byte> buffer)
    {
        string problem = FrameReader.Describe(error, buffer, _options.MaxFramePayload);
        _manager.OnMalformedFrame(this, problem);
        Close(CloseCause.MalformedFrame, $"malformed frame: {problem}");
    }

    /// <summary>Remembers when the unfinished frame at the front of the buffer began arriving (slow-drip defence).</summary>
    private void TrackPartialFrame(in ReadOnlySequence<byte> remaining, bool progressed)
    {
        if (remaining.IsEmpty)
        {
            Volatile.Write(ref _partialSince, NoTimestamp);
        }
        else if (progressed || Volatile.Read(ref _partialSince) == NoTimestamp)
        {
            Volatile.Write(ref _partialSince, _time.GetTimestamp());
        }
    }
}
