using System.Buffers.Binary;
using System.Net.Sockets;
using Engine.Transport;
using Engine.Transport.Tcp;
using NUnit.Framework;

namespace Engine.Tests.Transport.Tcp;

/// <summary>Managers on 127.0.0.1 with test-sized options, and raw sockets that speak (or break) the frame protocol.</summary>
internal static class TcpTestKit
{
    public static TransportOptions Options(Action<TransportOptions>? configure = null)
    {
        var options = new TransportOptions
        {
            ListenEndpoint = PeerEndpoint.Loopback(0),
            ConnectTimeout = TimeSpan.FromSeconds(3),
            ReconnectBackoffInitial = TimeSpan.FromMilliseconds(100),
            ReconnectBackoffMax = TimeSpan.FromSeconds(2),
        };
        configure?.Invoke(options);
        return options;
    }

    public static async Task<(TcpConnectionManager Manager, RecordingHandler Handler)> StartAsync(TransportOptions? options = null, TimeProvider? time = null)
    {
        var manager = new TcpConnectionManager(options ?? Options(), logger: null, time);
        var handler = new RecordingHandler();
        await manager.StartAsync(handler);
        return (manager, handler);
    }

    public static async Task<Socket> ConnectRawAsync(PeerEndpoint to, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(to.ToIPEndPoint(), cancellationToken);
        return socket;
    }

    public static byte[] Frame(FrameType type, ReadOnlySpan<byte> body)
    {
        var frame = new byte[FrameHeader.Size + body.Length];
        new FrameHeader(body.Length, type, FrameFlags.None).Write(frame);
        body.CopyTo(frame.AsSpan(FrameHeader.Size));
        return frame;
    }

    public static byte[] HandshakeFrame(PeerEndpoint claimed) => Frame(FrameType.Handshake, Handshake.Create(claimed));

    public static async Task SendAsync(Socket socket, byte[] bytes, CancellationToken cancellationToken)
    {
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None, cancellationToken);
        }
    }

    /// <summary>Reads the first frame the manager sends on a fresh connection (its handshake): proof it accepted us.</summary>
    public static async Task<PeerEndpoint> ReadHandshakeAsync(Socket socket, CancellationToken cancellationToken)
    {
        var header = new byte[FrameHeader.Size];
        await ReadExactlyAsync(socket, header, cancellationToken);
        Assert.That(FrameHeader.TryParse(header, 4096, out var parsed), Is.EqualTo(FrameError.None));
        Assert.That(parsed.Type, Is.EqualTo(FrameType.Handshake));
        var body = new byte[parsed.BodyLength];
        await ReadExactlyAsync(socket, body, cancellationToken);
        Assert.That(Handshake.TryParse(new System.Buffers.ReadOnlySequence<byte>(body), default, out var endpoint, out string? problem), Is.True, problem);
        return endpoint;
    }

    /// <summary>Reads and discards until the remote end closes (orderly or by reset).</summary>
    public static async Task WaitForRemoteCloseAsync(Socket socket, CancellationToken cancellationToken)
    {
        var sink = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(sink, SocketFlags.None, cancellationToken) > 0)
            {
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
        }
    }

    /// <summary>Polls a condition that no event signals (a counter of the manager) until it holds.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(5, cancellationToken);
        }
    }

    /// <summary>A message body that carries its own identity and checksum: [u32 origin][u32 seq][payload][u32 FNV-1a].</summary>
    public static byte[] StampedBody(int origin, int sequence, int payloadLength, bool compressible)
    {
        var body = new byte[8 + payloadLength + 4];
        BinaryPrimitives.WriteInt32BigEndian(body, origin);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), sequence);
        var payload = body.AsSpan(8, payloadLength);
        if (compressible)
        {
            for (int i = 0; i < payload.Length; i++)
            {
                payload[i] = (byte)('a' + ((i / 7 + sequence) % 26));
            }
        }
        else
        {
            new Random(origin * 100_003 + sequence).NextBytes(payload);
        }

        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(8 + payloadLength), Fnv1a(body.AsSpan(0, 8 + payloadLength)));
        return body;
    }

    /// <summary>Checks a stamped body's checksum and returns its origin and sequence.</summary>
    public static bool TryReadStamp(ReadOnlySpan<byte> body, out int origin, out int sequence)
    {
        origin = sequence = -1;
        if (body.Length < 12 || BinaryPrimitives.ReadUInt32BigEndian(body[^4..]) != Fnv1a(body[..^4]))
        {
            return false;
        }

        origin = BinaryPrimitives.ReadInt32BigEndian(body);
        sequence = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
        return true;
    }

    public static int FreeLoopbackPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(PeerEndpoint.Loopback(0).ToIPEndPoint());
        return ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                throw new EndOfStreamException("the manager closed the connection");
            }

            read += n;
        }
    }

    private static uint Fnv1a(ReadOnlySpan<byte> data)
    {
        uint hash = 2166136261;
        foreach (byte b in data)
        {
            hash = (hash ^ b) * 16777619;
        }

        return hash;
    }
}
