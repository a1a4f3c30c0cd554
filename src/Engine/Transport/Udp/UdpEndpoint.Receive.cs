using System.Net;
using System.Net.Sockets;
using Engine.Diagnostics;

namespace Engine.Transport.Udp;

/// <content>The receive loop: one pending ReceiveFrom at a time into one pooled 64 KiB buffer.</content>
internal sealed partial class UdpEndpoint
{
    /// <summary>After this many socket errors in a row the loop pauses briefly, so a persistent error cannot spin a core.</summary>
    private const int ErrorsBeforePause = 8;

    private static readonly TimeSpan ErrorPause = TimeSpan.FromMilliseconds(50);

    /// <summary>How often a blocked receive thread wakes to check for disposal if the wake-up datagram was lost.</summary>
    private const int ReceiveThreadTimeoutMs = 500;

    private Task StartReceiveThread()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _socket!.ReceiveTimeout = ReceiveThreadTimeoutMs;
        var thread = new Thread(() =>
        {
            try
            {
                ReceiveUntilDisposed();
            }
            catch (Exception e)
            {
                UdpLog.ReceiveLoopCrashed(_logger, e, LocalEndpoint);
            }
            finally
            {
                done.SetResult();
            }
        })
        {
            IsBackground = true,
            Name = $"engine-udp-{LocalEndpoint.Port}",
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>
    /// The dedicated-thread loop: blocking ReceiveFrom straight into the pooled buffer. No async state, no thread-pool hop,
    /// nothing allocated per datagram; one thread per endpoint.
    /// </summary>
    private void ReceiveUntilDisposed()
    {
        var socket = _socket!;
        var buffer = _receiveBuffer!;
        var address = new SocketAddress(_family);
        int consecutiveErrors = 0;
        while (Volatile.Read(ref _disposed) == 0)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(buffer, SocketFlags.None, address);
                consecutiveErrors = 0;
            }
            catch (Exception e) when (Volatile.Read(ref _disposed) != 0 && e is SocketException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                continue; // idle: look at _disposed again
            }
            catch (SocketException e)
            {
                OnReceiveError(e.SocketErrorCode.ToString());
                if (++consecutiveErrors >= ErrorsBeforePause)
                {
                    consecutiveErrors = 0;
                    Thread.Sleep(ErrorPause);
                }

                continue;
            }

            if (Volatile.Read(ref _disposed) != 0)
            {
                break;
            }

            OnDatagramReceived(buffer, received, address);
        }
    }

    private void WakeReceiveThread()
    {
        try
        {
            var self = LocalEndpoint;
            if (self.IsIPv4 && self.IPv4Address == 0)
            {
                self = PeerEndpoint.Loopback(self.Port);
            }

            using var waker = new Socket(_family, SocketType.Dgram, ProtocolType.Udp);
            if (_family == AddressFamily.InterNetworkV6)
            {
                waker.DualMode = true;
            }

            waker.SendTo([0], self.ToIPEndPoint());
        }
        catch (SocketException)
        {
            // The receive timeout wakes the thread anyway.
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            await ReceiveUntilDisposedAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Only a bug gets here (socket errors and handler exceptions are handled inside); say so loudly.
            UdpLog.ReceiveLoopCrashed(_logger, e, LocalEndpoint);
        }
    }

    private async Task ReceiveUntilDisposedAsync()
    {
        var socket = _socket!;
        var buffer = _receiveBuffer!;
        var address = new SocketAddress(_family);
        int consecutiveErrors = 0;
        while (Volatile.Read(ref _disposed) == 0)
        {
            int received;
            try
            {
                // No CancellationToken: DisposeAsync closes the socket, which aborts this receive. This keeps every
                // iteration free of token registrations.
                received = await socket.ReceiveFromAsync(buffer.AsMemory(), SocketFlags.None, address).ConfigureAwait(false);
                consecutiveErrors = 0;
            }
            catch (Exception e) when (Volatile.Read(ref _disposed) != 0 && e is SocketException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e)
            {
                // E.g. ConnectionReset/ConnectionRefused after an ICMP port-unreachable: transient by nature.
                OnReceiveError(e.SocketErrorCode.ToString());
                if (++consecutiveErrors >= ErrorsBeforePause)
                {
                    consecutiveErrors = 0;
                    await Task.Delay(ErrorPause, _time).ConfigureAwait(false);
                }

                continue;
            }

            OnDatagramReceived(buffer, received, address);
        }
    }

    private void OnDatagramReceived(byte[] buffer, int length, SocketAddress address)
    {
        var datagram = new ReadOnlySpan<byte>(buffer, 0, length);
        if (!SocketAddressCodec.TryRead(address, out var source))
        {
            // Cannot happen on an IPv4/IPv6 socket; counted rather than trusted.
            OnReceiveError($"datagram from an address of family {address.Family}");
            return;
        }

        var error = DatagramHeader.Validate(datagram, _maxPayload, out _);
        if (error != DatagramError.None)
        {
            OnInvalidDatagram(error, source, datagram);
            return;
        }

        Interlocked.Increment(ref _received);
        Interlocked.Add(ref _receivedBytes, length);
        TransportMetrics.DatagramsReceived.Add(1);
        TransportMetrics.DatagramBytesReceived.Add(length);
        try
        {
            _handler!.OnDatagram(source, datagram[DatagramHeader.Size..]);
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _handlerErrors);
            if (_handlerLogLimiter.TryAcquire(out long suppressed))
            {
                UdpLog.HandlerFailed(_logger, e, LocalEndpoint, source, suppressed);
            }
        }
    }

    private void OnInvalidDatagram(DatagramError error, PeerEndpoint source, ReadOnlySpan<byte> datagram)
    {
        Interlocked.Increment(ref _dropped);
        Interlocked.Increment(ref _droppedByReason[(int)error]);
        TransportMetrics.DatagramsDropped.Add(1, TransportMetrics.Reason(ReasonTag(error)));
        if (_dropLogLimiter.TryAcquire(out long suppressed))
        {
            UdpLog.DatagramDropped(_logger, LocalEndpoint, source, DatagramHeader.Describe(error, datagram, _maxPayload), suppressed);
        }
    }

    private void OnReceiveError(string error)
    {
        Interlocked.Increment(ref _receiveErrors);
        if (_receiveErrorLogLimiter.TryAcquire(out long suppressed))
        {
            UdpLog.ReceiveFailed(_logger, LocalEndpoint, error, suppressed);
        }
    }

    private static string ReasonTag(DatagramError error) => error switch
    {
        DatagramError.Truncated => "truncated",
        DatagramError.BadMagic => "bad-magic",
        DatagramError.BadVersion => "bad-version",
        DatagramError.UnknownType => "unknown-type",
        DatagramError.TooLarge => "too-large",
        _ => "invalid",
    };
}
