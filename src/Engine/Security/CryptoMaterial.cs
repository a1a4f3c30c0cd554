using System.Security.Cryptography.X509Certificates;

namespace Engine.Security;

/// <summary>
/// A network's crypto material on disk, in the role of Fabric's cryptogen. The layout (docs/SECURITY.md):
/// <code>
/// DIR/
///   ORG/ca/cert.pem               the org CA's certificate (what peers trust)
///   ORG/ca/key.pem                the org CA's private key, PKCS#8 (only needed to issue more peers)
///   ORG/peers/PEER/cert.pem       a peer certificate issued by the org CA
///   ORG/peers/PEER/key.pem        its private key, PKCS#8
/// </code>
/// Peers are named <c>peer0.ORG</c>, <c>peer1.ORG</c> ... Private keys are written readable by the owner only (Unix).
/// </summary>
public static class CryptoMaterial
{
    /// <summary>File name of a certificate.</summary>
    public const string CertificateFile = "cert.pem";

    /// <summary>File name of a private key.</summary>
    public const string KeyFile = "key.pem";

    /// <summary>The name of the peer numbered <paramref name="index"/> in <paramref name="orgId"/>.</summary>
    public static string PeerName(string orgId, int index) => $"peer{index}.{orgId}";

    /// <summary>The directory of an org's CA.</summary>
    public static string CaDirectory(string root, string orgId) => Path.Combine(root, orgId, "ca");

    /// <summary>The directory of a peer's certificate and key.</summary>
    public static string PeerDirectory(string root, string orgId, string peerName) => Path.Combine(root, orgId, "peers", peerName);

    /// <summary>
    /// Generates a CA per org and <paramref name="peersPerOrg"/> peer certificates per org under
    /// <paramref name="outputDirectory"/> (created if missing). An org directory that already exists is refused, so
    /// existing material is never overwritten. Returns the peer directories, org by org.
    /// </summary>
    public static IReadOnlyList<string> Generate(string outputDirectory, IReadOnlyList<string> orgs, int peersPerOrg, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        ArgumentNullException.ThrowIfNull(orgs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(peersPerOrg);
        if (orgs.Count == 0)
        {
            throw new ArgumentException("at least one org is needed", nameof(orgs));
        }

        var distinct = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string org in orgs)
        {
            OrgCertificateAuthority.RequireOrgId(org);
            if (!distinct.Add(org))
            {
                throw new ArgumentException($"org '{org}' is named twice (org ids must differ ignoring case: they are directory names)", nameof(orgs));
            }

            if (Directory.Exists(Path.Combine(outputDirectory, org)))
            {
                throw new IOException($"{Path.Combine(outputDirectory, org)} already exists; refusing to overwrite crypto material");
            }
        }

        var peers = new List<string>();
        foreach (string org in orgs)
        {
            using var ca = OrgCertificateAuthority.Create(org, time);
            string caDir = CaDirectory(outputDirectory, org);
            Directory.CreateDirectory(caDir);
            WriteCertificate(Path.Combine(caDir, CertificateFile), ca.ExportCertificatePem());
            WriteKey(Path.Combine(caDir, KeyFile), ca.ExportPrivateKeyPem());
            for (int i = 0; i < peersPerOrg; i++)
            {
                string name = PeerName(org, i);
                using var peer = ca.IssuePeer(name, time);
                string peerDir = PeerDirectory(outputDirectory, org, name);
                Directory.CreateDirectory(peerDir);
                WriteCertificate(Path.Combine(peerDir, CertificateFile), peer.ExportCertificatePem());
                WriteKey(Path.Combine(peerDir, KeyFile), peer.ExportPrivateKeyPem());
                peers.Add(peerDir);
            }
        }

        return peers;
    }

    /// <summary>
    /// Builds a trust store of every org CA under <paramref name="root"/> (each <c>ORG/ca/cert.pem</c>), or of the
    /// named <paramref name="orgs"/> only. The directory name is the org id and must match the CA certificate's O.
    /// </summary>
    public static TrustStore LoadTrustStore(string root, IEnumerable<string>? orgs = null, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"crypto material directory {root} does not exist");
        }

        var store = new TrustStore(time);
        var names = orgs?.ToList() ?? Directory.EnumerateDirectories(root).Select(Path.GetFileName).OfType<string>()
            .Where(d => File.Exists(Path.Combine(CaDirectory(root, d), CertificateFile))).Order(StringComparer.Ordinal).ToList();
        foreach (string org in names)
        {
            OrgCertificateAuthority.RequireOrgId(org);
            string path = Path.Combine(CaDirectory(root, org), CertificateFile);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"org {org} has no CA certificate at {path}", path);
            }

            store.Add(org, X509Certificate2.CreateFromPem(File.ReadAllText(path)));
        }

        if (store.Orgs.Count == 0)
        {
            throw new InvalidDataException($"no org CA found under {root} (expected ORG/ca/{CertificateFile})");
        }

        return store;
    }

    /// <summary>Loads a peer's credential from its directory (<c>cert.pem</c> and <c>key.pem</c>); the org is the certificate's O.</summary>
    public static PeerCredential LoadPeer(string peerDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(peerDirectory);
        string certPath = Path.Combine(peerDirectory, CertificateFile);
        string keyPath = Path.Combine(peerDirectory, KeyFile);
        var certificate = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        string? org = CertificateNames.Organization(certificate);
        if (org is null || !IdentityCodec.IsValidOrgId(org))
        {
            certificate.Dispose();
            throw new InvalidDataException($"{certPath} names no valid org (subject '{certificate.Subject}')");
        }

        return new PeerCredential(org, certificate);
    }

    /// <summary>Loads an org's CA with its private key, to issue more peer certificates.</summary>
    public static OrgCertificateAuthority LoadCertificateAuthority(string root, string orgId)
    {
        OrgCertificateAuthority.RequireOrgId(orgId);
        string dir = CaDirectory(root, orgId);
        return OrgCertificateAuthority.FromCertificate(orgId,
            X509Certificate2.CreateFromPemFile(Path.Combine(dir, CertificateFile), Path.Combine(dir, KeyFile)));
    }

    private static void WriteCertificate(string path, string pem) => File.WriteAllText(path, pem + "\n");

    private static void WriteKey(string path, string pem)
    {
        if (OperatingSystem.IsWindows())
        {
            File.WriteAllText(path, pem + "\n");
            return;
        }

        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using var writer = new StreamWriter(path, System.Text.Encoding.ASCII, options);
        writer.Write(pem);
        writer.Write('\n');
    }
}
