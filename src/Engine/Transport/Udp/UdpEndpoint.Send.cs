using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Engine.Diagnostics;

namespace Engine.Transport.Udp;

/// <content>The send path: header and body assembled on the stack (or in a pooled buffer) and sent synchronously.</content>
internal sealed partial class UdpEndpoint
{
    /// <summary>Datagrams up to this size are assembled on the stack; larger ones in a pooled array.</summary>
    private const int StackDatagramLimit = 2048;

    // One destination address per thread and family, refilled in place for each send: no allocation, no shared state.
    [ThreadStatic]
    private static SocketAddress? _threadAddressV4;

    [ThreadStatic]
    private static SocketAddress? _threadAddressV6;

    /// <summary>
    /// Sends one datagram carrying <paramref name="body"/>. Never throws for network conditions and never blocks: a body over
    /// <see cref="MaxDatagramPayload"/> gives <see cref="SendStatus.TooLarge"/> (nothing sent); a socket that refuses the
    /// datagram (send buffer full, network unreachable, wrong address family) gives <see cref="SendStatus.Unreachable"/>.
    /// </summary>
    [SkipLocalsInit] // the stack buffer is fully overwritten up to the datagram's length; no need to zero 2 KiB per send
    public SendStatus Send(PeerEndpoint to, ReadOnlySpan<byte> body)
    {
        var socket = _socket;
        if (socket is null || Volatile.Read(ref _disposed) != 0)
        {
            return SendStatus.Closed;
        }

        if (body.Length > _maxPayload)
        {
            Interlocked.Increment(ref _sendTooLarge);
            TransportMetrics.DatagramsDropped.Add(1, TransportMetrics.Reason("send-too-large"));
            UdpLog.SendTooLarge(_logger, LocalEndpoint, to, body.Length, _maxPayload);
            return SendStatus.TooLarge;
        }

        if (body.IsEmpty)
        {
            ThrowEmptyBody();
        }

        var address = DestinationAddress(to);
        if (address is null)
        {
            return OnSendFailed(to, "the destination's address family does not match the socket's");
        }

        int length = DatagramHeader.Size + body.Length;
        byte[]? rented = null;
        Span<byte> datagram = length <= StackDatagramLimit
            ? stackalloc byte[StackDatagramLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(length));
        datagram = datagram[..length];
        DatagramHeader.Write(datagram, DatagramType.Envelopes);
        body.CopyTo(datagram[DatagramHeader.Size..]);
        try
        {
            socket.SendTo(datagram, SocketFlags.None, address);
        }
        catch (SocketException e)
        {
            return OnSendFailed(to, e.SocketErrorCode.ToString());
        }
        catch (ObjectDisposedException)
        {
            return SendStatus.Closed;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        Interlocked.Increment(ref _sent);
        Interlocked.Add(ref _sentBytes, length);
        TransportMetrics.DatagramsSent.Add(1);
        TransportMetrics.DatagramBytesSent.Add(length);
        return SendStatus.Sent;
    }

    private SocketAddress? DestinationAddress(PeerEndpoint to)
    {
        SocketAddress address;
        if (_family == AddressFamily.InterNetwork)
        {
            address = _threadAddressV4 ??= new SocketAddress(AddressFamily.InterNetwork, SocketAddressCodec.IPv4Size);
        }
        else
        {
            address = _threadAddressV6 ??= new SocketAddress(AddressFamily.InterNetworkV6, SocketAddressCodec.IPv6Size);
        }

        return SocketAddressCodec.TryWrite(to, address) ? address : null;
    }

    private SendStatus OnSendFailed(PeerEndpoint to, string error)
    {
        Interlocked.Increment(ref _sendFailures);
        TransportMetrics.DatagramsDropped.Add(1, TransportMetrics.Reason("send-failed"));
        if (_sendLogLimiter.TryAcquire(out long suppressed))
        {
            UdpLog.SendFailed(_logger, LocalEndpoint, to, error, suppressed);
        }

        return SendStatus.Unreachable;
    }

    private static void ThrowEmptyBody() =>
        throw new ArgumentException("A datagram body must not be empty (receivers drop header-only datagrams).", "body");
}
