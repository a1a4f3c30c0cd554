using Engine.Node;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Peer.Configuration;

/// <summary>How log lines are written to the console.</summary>
internal enum LogFormat
{
    /// <summary>One readable line per event: time, level, area, message.</summary>
    Simple,

    /// <summary>One JSON object per line, for log collectors.</summary>
    Json,
}

/// <summary>
/// Everything the peer process is configured with, defaults first: the node's <see cref="GossipOptions"/> (with its
/// transport options) plus what only the process has (its name, the channels it joins, the admin port, logging).
/// </summary>
internal sealed class PeerSettings
{
    /// <summary>The peer's name in logs and status (Fabric's <c>peer.id</c>).</summary>
    public string PeerId { get; set; } = "peer0";

    /// <summary>Address to bind UDP and TCP on; empty means the gossip endpoint's address and port.</summary>
    public PeerEndpoint ListenAddress { get; set; }

    public GossipOptions Gossip { get; } = new();

    /// <summary>The channels joined at start (<c>peer.channels</c>), each with the orderer that serves it.</summary>
    public List<PeerChannel> Channels { get; } = [];

    /// <summary>Fabric's <c>orgLeader</c>: this peer is its org's static leader (in the channels the node joins).</summary>
    public bool OrgLeader { get => Gossip.Election.OrgLeader; set => Gossip.Election.OrgLeader = value; }

    /// <summary>Fabric's <c>useLeaderElection</c> (in the channels the node joins).</summary>
    public bool UseLeaderElection { get => Gossip.Election.UseLeaderElection; set => Gossip.Election.UseLeaderElection = value; }

    public TimeSpan ElectionStartupGracePeriod { get => Gossip.Election.StartupGracePeriod; set => Gossip.Election.StartupGracePeriod = value; }

    public TimeSpan ElectionMembershipSampleInterval { get => Gossip.Election.MembershipSampleInterval; set => Gossip.Election.MembershipSampleInterval = value; }

    public TimeSpan ElectionLeaderAliveThreshold { get => Gossip.Election.LeaderAliveThreshold; set => Gossip.Election.LeaderAliveThreshold = value; }

    public TimeSpan ElectionLeaderElectionDuration { get => Gossip.Election.LeaderElectionDuration; set => Gossip.Election.LeaderElectionDuration = value; }

    /// <summary>The peer's certificate directory (cert.pem, key.pem); empty: unsigned.</summary>
    public string MspConfigPath { get; set; } = "";

    /// <summary>The crypto material root whose org CAs are trusted; empty: derived from <see cref="MspConfigPath"/>.</summary>
    public string CryptoDir { get; set; } = "";

    /// <summary>Mutual TLS on TCP with the <see cref="MspConfigPath"/> certificate.</summary>
    public bool TlsEnabled { get; set; }

    /// <summary>
    /// Loads the certificate, key and trusted CAs named by <see cref="MspConfigPath"/>, <see cref="CryptoDir"/> and
    /// <see cref="TlsEnabled"/> into the node's options. Throws <see cref="ArgumentException"/> naming the key whose files
    /// are missing or unusable.
    /// </summary>
    public void LoadCryptoMaterial()
    {
        if (MspConfigPath.Length == 0)
        {
            if (TlsEnabled)
            {
                throw new ArgumentException("peer.tls.enabled needs peer.mspConfigPath (the certificate TLS presents)", "peer.tls.enabled");
            }

            return;
        }

        string root = CryptoDir.Length > 0 ? CryptoDir : Path.GetFullPath(Path.Combine(MspConfigPath, "..", "..", ".."));
        Engine.Security.PeerCredential credential;
        try
        {
            credential = Engine.Security.CryptoMaterial.LoadPeer(MspConfigPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or InvalidDataException or ArgumentException)
        {
            throw new ArgumentException($"peer.mspConfigPath {MspConfigPath}: {e.Message}", "peer.mspConfigPath", e);
        }

        try
        {
            var trust = Engine.Security.CryptoMaterial.LoadTrustStore(root);
            Gossip.Credential = credential;
            Gossip.TrustStore = trust;
            Gossip.Transport.Security = TlsEnabled ? new TransportSecurity(credential, trust) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or InvalidDataException or ArgumentException)
        {
            credential.Dispose();
            throw new ArgumentException($"peer.cryptoDir {root}: {e.Message}", "peer.cryptoDir", e);
        }
    }

    /// <summary>Whether the local admin port is opened.</summary>
    public bool AdminEnabled { get; set; } = true;

    /// <summary>Where the admin port listens; always a loopback address. Port 0 picks a free port.</summary>
    public PeerEndpoint AdminListenAddress { get; set; } = PeerEndpoint.Loopback(9443);

    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    public LogFormat LogFormat { get; set; } = LogFormat.Simple;

    /// <summary>For each key that was set, where its value came from (file line, environment variable, --set).</summary>
    public Dictionary<string, string> Sources { get; } = new(StringComparer.Ordinal);

    /// <summary>The address the transport binds: <see cref="ListenAddress"/>, or the gossip endpoint when that is empty.</summary>
    public PeerEndpoint EffectiveListenAddress => ListenAddress.IsEmpty ? Gossip.Endpoint : ListenAddress;
}
