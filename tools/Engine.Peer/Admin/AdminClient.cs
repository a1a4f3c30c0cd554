using System.Net.Sockets;
using System.Text.Json;
using Engine.Peer.Hosting;
using Engine.Transport;

namespace Engine.Peer.Admin;

/// <summary>Talks to a peer's admin port: one request, one response line.</summary>
internal static class AdminClient
{
    /// <summary>Asks the peer at <paramref name="admin"/> for its status; throws <see cref="AdminException"/> saying what failed.</summary>
    public static async Task<PeerStatus> GetStatusAsync(PeerEndpoint admin, CancellationToken cancellationToken)
    {
        var response = await SendAsync(admin, new AdminRequest(AdminProtocol.StatusCommand), cancellationToken);
        return response.Status ?? throw new AdminException($"the peer at {admin} answered without a status");
    }

    /// <summary>Sends one request and reads its response; an error response becomes an <see cref="AdminException"/>.</summary>
    public static async Task<AdminResponse> SendAsync(PeerEndpoint admin, AdminRequest request, CancellationToken cancellationToken)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(admin.ToIPEndPoint(), cancellationToken);
        }
        catch (SocketException e)
        {
            throw new AdminException($"cannot reach the admin port at {admin}: {e.SocketErrorCode} ({e.Message}). "
                + "Is the peer running with admin.enabled=true, and is this its admin.listenAddress?", e);
        }

        await using var stream = new NetworkStream(socket, ownsSocket: false);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(request, AdminProtocol.Json.AdminRequest);
        await stream.WriteAsync(json, cancellationToken);
        await stream.WriteAsync("\n"u8.ToArray(), cancellationToken);

        byte[] line = await ReadLineAsync(stream, admin, cancellationToken);
        AdminResponse? response;
        try
        {
            response = JsonSerializer.Deserialize(line, AdminProtocol.Json.AdminResponse);
        }
        catch (JsonException e)
        {
            throw new AdminException($"the admin port at {admin} answered with something that is not a response: {e.Message}", e);
        }

        if (response is null)
        {
            throw new AdminException($"the admin port at {admin} answered with an empty response");
        }

        if (!response.Ok)
        {
            throw new AdminException($"the admin port at {admin} refused the request: {response.Error}");
        }

        return response;
    }

    private static async Task<byte[]> ReadLineAsync(NetworkStream stream, PeerEndpoint admin, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[64 * 1024];
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(chunk, cancellationToken);
            }
            catch (IOException e)
            {
                throw new AdminException($"the connection to the admin port at {admin} failed: {e.Message}", e);
            }

            if (read == 0)
            {
                throw new AdminException($"the admin port at {admin} closed the connection before answering");
            }

            int newline = Array.IndexOf(chunk, (byte)'\n', 0, read);
            buffer.Write(chunk, 0, newline < 0 ? read : newline);
            if (newline >= 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length > AdminProtocol.MaxResponseBytes)
            {
                throw new AdminException($"the admin port at {admin} sent more than {AdminProtocol.MaxResponseBytes} bytes without ending its response");
            }
        }
    }
}

/// <summary>An admin request failed; the message says why, for the operator.</summary>
internal sealed class AdminException : Exception
{
    public AdminException()
    {
    }

    public AdminException(string message)
        : base(message)
    {
    }

    public AdminException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
