using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Engine.Security;
using Engine.Tests.Transport;

namespace Engine.Tests.Security;

public sealed class TrustStoreTests : IDisposable
{
    private SecurityTestKit _kit = null!;

    [OneTimeSetUp]
    public void SetUp() => _kit = new SecurityTestKit();

    public void Dispose() => _kit.Dispose();

    [Test]
    public void PkiIdIsSha256OfOrgIdThenCertificateDer()
    {
        byte[] expected = SHA256.HashData([.. Encoding.UTF8.GetBytes("Org1"), .. _kit.Peer1.Certificate.RawData]);
        Assert.That(_kit.Peer1.PkiId.ToArray(), Is.EqualTo(expected));
        Assert.That(_kit.Peer1.PkiId.ToString(), Is.EqualTo(Convert.ToHexStringLower(expected)));
        Assert.That(PkiId.Compute("Org2", _kit.Peer1.Certificate.RawData), Is.Not.EqualTo(_kit.Peer1.PkiId), "the org is part of the id");
    }

    [Test]
    public void IssuedPeerCertificatesHaveTheShapeOfTheModel()
    {
        var cert = _kit.Peer1.Certificate;
        Assert.That(cert.Subject, Does.Contain("CN=peer0.Org1").And.Contain("O=Org1"));
        Assert.That(cert.Issuer, Is.EqualTo(_kit.Org1.Certificate.Subject));
        Assert.That(cert.GetECDsaPublicKey()!.KeySize, Is.EqualTo(256));
        Assert.That(cert.SignatureAlgorithm.Value, Is.EqualTo("1.2.840.10045.4.3.2"), "ecdsa-with-SHA256");
        Assert.That(cert.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority, Is.False);
        Assert.That(_kit.Org1.Certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority, Is.True);
    }

    [Test]
    public void APeerOfATrustedOrgIsTrusted()
    {
        Assert.That(_kit.Trust.Validate("Org1", _kit.Peer1.Certificate, out string? reason), Is.EqualTo(CertificateVerdict.Trusted), reason);
        Assert.That(_kit.Trust.Validate("Org2", _kit.Peer2.Certificate, out reason), Is.EqualTo(CertificateVerdict.Trusted), reason);
    }

    [Test]
    public void EachRefusalHasItsVerdictAndAReason()
    {
        AssertRefused("Org3", _kit.Peer1.Certificate, CertificateVerdict.UnknownOrg, "org 'Org3' is not trusted");
        AssertRefused("Org2", _kit.Peer1.Certificate, CertificateVerdict.OrgMismatch, "names org 'Org1', not the claimed 'Org2'");
        AssertRefused("Org1", _kit.RoguePeer.Certificate, CertificateVerdict.Untrusted, "does not chain to the CA of Org1");
        AssertRefused("Org1", _kit.Org1.Certificate, CertificateVerdict.NotAPeerCertificate, "is a CA certificate");

        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=rsa, O=Org1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var rsaCert = request.Create(_kit.Org1.Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_kit.Org1.Certificate.GetECDsaPrivateKey()!),
            _kit.Time.GetUtcNow(), _kit.Time.GetUtcNow().AddDays(1), [1, 2, 3]);
        AssertRefused("Org1", rsaCert, CertificateVerdict.UnsupportedKey, "ECDSA P-256");

        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var p384Request = new CertificateRequest("CN=p384, O=Org1", p384, HashAlgorithmName.SHA256);
        using var p384Cert = p384Request.Create(_kit.Org1.Certificate, _kit.Time.GetUtcNow(), _kit.Time.GetUtcNow().AddDays(1), [4, 5, 6]);
        AssertRefused("Org1", p384Cert, CertificateVerdict.UnsupportedKey, "ECDSA P-256");
    }

    [Test]
    public void ValidityIsJudgedAtTheTimeProvidersNow()
    {
        var time = new ManualTimeProvider();
        using var ca = OrgCertificateAuthority.Create("Org1", time);
        var store = new TrustStore(time);
        store.Add("Org1", ca.Certificate);
        using var peer = ca.IssuePeer("peer0.Org1", time, validity: TimeSpan.FromDays(30));
        Assert.That(store.Validate("Org1", peer.Certificate, out _), Is.EqualTo(CertificateVerdict.Trusted));

        time.Advance(TimeSpan.FromDays(31));
        Assert.That(store.Validate("Org1", peer.Certificate, out string? reason), Is.EqualTo(CertificateVerdict.Expired));
        Assert.That(reason, Does.Contain("expired at"));

        var early = new ManualTimeProvider();
        early.Advance(TimeSpan.FromDays(-1));
        var earlyStore = new TrustStore(early);
        earlyStore.Add("Org1", ca.Certificate);
        Assert.That(earlyStore.Validate("Org1", peer.Certificate, out reason), Is.EqualTo(CertificateVerdict.NotYetValid));
        Assert.That(reason, Does.Contain("not valid before"));
    }

    [Test]
    public void APeerOfAnExpiredCaIsUntrusted()
    {
        var time = new ManualTimeProvider();
        using var ca = OrgCertificateAuthority.Create("Org1", time, validity: TimeSpan.FromDays(10));
        using var peer = ca.IssuePeer("peer0.Org1", time, validity: TimeSpan.FromDays(100)); // clipped to the CA's end
        Assert.That(peer.Certificate.NotAfter, Is.LessThanOrEqualTo(ca.Certificate.NotAfter));
        var store = new TrustStore(time);
        store.Add("Org1", ca.Certificate);
        time.Advance(TimeSpan.FromDays(11));
        Assert.That(store.Validate("Org1", peer.Certificate, out _), Is.EqualTo(CertificateVerdict.Expired));
    }

    [Test]
    public void HostileIdentityBytesAreMalformedNeverAnException()
    {
        var random = new Random(6);
        byte[] good = IdentityCodec.Encode("Org1", _kit.Peer1.Certificate.RawData);
        for (int i = 0; i < 300; i++)
        {
            byte[] input = (byte[])good.Clone();
            for (int m = random.Next(1, 8); m > 0; m--)
            {
                input[random.Next(input.Length)] = (byte)random.Next(256);
            }

            var verdict = _kit.Trust.ValidateIdentity(input, out var known, out string? reason);
            Assert.That(verdict == CertificateVerdict.Trusted ? known : (object?)reason, Is.Not.Null);
        }

        Assert.That(_kit.Trust.ValidateIdentity([], out _, out _), Is.EqualTo(CertificateVerdict.Malformed));
        Assert.That(_kit.Trust.ValidateIdentity(IdentityCodec.Encode("Org1", [0x30, 0x03, 1, 2, 3]), out _, out string? why), Is.EqualTo(CertificateVerdict.Malformed));
        Assert.That(why, Does.Contain("no X.509 certificate"));
        Assert.That(_kit.Trust.ValidateIdentity(IdentityCodec.Encode("../etc", _kit.Peer1.Certificate.RawData), out _, out _), Is.EqualTo(CertificateVerdict.Malformed));
        Assert.That(_kit.Trust.ValidateIdentity(good, out var ok, out _), Is.EqualTo(CertificateVerdict.Trusted));
        Assert.That(ok!.PkiId, Is.EqualTo(_kit.Peer1.PkiId));
    }

    [Test]
    public void TheStoreRefusesACaThatIsNotTheNamedOrgs()
    {
        var store = new TrustStore();
        Assert.Throws<ArgumentException>(() => store.Add("Org2", _kit.Org1.Certificate));
        Assert.Throws<ArgumentException>(() => store.Add("Org1", _kit.Peer1.Certificate));
        Assert.Throws<ArgumentException>(() => OrgCertificateAuthority.Create("Org/1"));
        Assert.Throws<ArgumentException>(() => OrgCertificateAuthority.Create("O=Org1,CN=x"));
    }

    private void AssertRefused(string org, X509Certificate2 cert, CertificateVerdict expected, string reasonPart)
    {
        Assert.That(_kit.Trust.Validate(org, cert, out string? reason), Is.EqualTo(expected), reason);
        Assert.That(reason, Does.Contain(reasonPart));
    }
}
