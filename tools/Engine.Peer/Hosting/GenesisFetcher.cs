using System.Buffers;
using Engine.Ordering;
using Engine.Peer.Configuration;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Peer.Hosting;

/// <summary>
/// Fetches a channel's genesis block (block #0) from the orderer's delivery service, as Fabric's
/// <c>peer channel fetch 0</c> does: a short-lived transport of its own on the peer's address, a delivery stream from
/// block 0 (the library's <see cref="DeliveryClient"/>, which retries every <c>retryInterval</c> while the orderer is
/// unreachable or does not have the channel), the first block it delivers, then DeliverStop and close.
/// </summary>
internal sealed class GenesisFetcher : ITransportHandler
{
    private readonly TaskCompletionSource<byte[]> _block = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DeliveryClient? _client;

    private GenesisFetcher()
    {
    }

    /// <summary>Returns the first block the orderer delivers for <paramref name="channel"/> from block 0 on.</summary>
    public static async Task<byte[]> FetchAsync(PeerChannel channel, string org, string peerId, PeerEndpoint localAddress,
        TimeSpan retryInterval, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var fetcher = new GenesisFetcher();
        var options = new TransportOptions
        {
            ListenEndpoint = PeerEndpoint.FromAddress(localAddress.ToIPAddress(), 0),
            UdpReceiveThread = false,
        };
        await using var transport = SocketTransport.Create(options, loggerFactory);
        using var client = new DeliveryClient(transport, channel.Orderer, channel.Name, org, peerId + " (genesis fetch)", static () => 0,
            fetcher.OnBlock, TimeProvider.System, retryInterval, loggerFactory.CreateLogger("Engine.Ordering"));
        fetcher._client = client;
        await transport.StartAsync(fetcher, cancellationToken);
        client.Open();
        try
        {
            return await fetcher._block.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            client.Close();
        }
    }

    private void OnBlock(ReadOnlySpan<byte> envelope, PeerEndpoint orderer) => _block.TrySetResult(envelope.ToArray());

    public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
    {
        // The orderer sends no datagrams; anything else is not this fetch's business.
    }

    public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
    {
        if (_client is { } client)
        {
            byte[] body = payload.ToArray(); // once per fetch: not a hot path
            client.TryHandle(source, body);
        }
    }

    public void OnConnectionLost(PeerEndpoint peer, string reason) => _client?.OnConnectionLost(peer, reason);
}
