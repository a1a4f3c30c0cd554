using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Engine.Transport.Tcp;

/// <summary>
/// Mutual TLS (only when <see cref="TransportOptions.Security"/> is set): an <see cref="SslStream"/> over the socket,
/// authenticated before any frame moves; the frame pipes then read and write the stream instead of the socket. The
/// certificate the peer presented is kept, and the ConnEstablish handshake must name its PKI-ID (<see cref="Handshake.CheckBinding"/>).
/// </summary>
internal sealed partial class TcpConnection
{
    private SslStream? _tls;
    private X509Certificate2? _tlsCertificate;

    /// <summary>The certificate the peer presented in TLS (null on plain TCP or before authentication).</summary>
    public X509Certificate2? RemoteCertificate => _tlsCertificate;

    /// <summary>Runs the TLS handshake within <see cref="TransportOptions.ConnectTimeout"/>; false (closed, counted, logged) when refused.</summary>
    private async ValueTask<bool> AuthenticateAsync(TransportSecurity security)
    {
        var ssl = new SslStream(new NetworkStream(_socket, ownsSocket: false), leaveInnerStreamOpen: false);
        string? refusal = null;
        X509Certificate2? presented = null;
        bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (security.Validate(certificate, out presented, out refusal))
            {
                return true;
            }

            refusal ??= "the certificate was refused";
            return false;
        }

        string? failure = null;
        using (var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time))
        {
            try
            {
                if (IsInbound)
                {
                    await ssl.AuthenticateAsServerAsync(security.ServerOptions(Validate), timeout.Token).ConfigureAwait(false);
                }
                else
                {
                    await ssl.AuthenticateAsClientAsync(security.ClientOptions(Validate), timeout.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                failure = $"TLS handshake not finished within {_options.ConnectTimeout.TotalMilliseconds:0} ms";
            }
            catch (Exception e) when (e is AuthenticationException or IOException or SocketException or ObjectDisposedException)
            {
                failure = refusal ?? $"TLS handshake failed: {e.Message}";
            }
        }

        if (failure is null && presented is null)
        {
            failure = "the peer presented no certificate";
        }

        if (failure is not null)
        {
            ssl.Dispose();
            if (!_closed)
            {
                _manager.OnUnauthenticated(this, failure);
                Close(CloseCause.Unauthenticated, $"unauthenticated: {failure}");
            }

            return false;
        }

        _tlsCertificate = presented;
        _tls = ssl;
        if (_closed)
        {
            ssl.Dispose(); // closed while authenticating: Close() did not see the stream
            return false;
        }

        return true;
    }
}
