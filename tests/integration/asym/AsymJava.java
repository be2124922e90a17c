// SPDX-License-Identifier: Apache-2.0
// integration: a token's key pairs under Java's SunPKCS11 provider. Run by
// steps_java.sh, one operation per run (so pkcs11-spy's log is that
// operation's):
//   java AsymJava CONFIG PIN OP ALIAS DIR
// OP: sha256withrsa, rsassa-pss, sha256withrsassa-pss, sha256withecdsa
// (sign DIR/msg with the
// token's key ALIAS, verify with the JDK's own provider against the
// certificate's public key, write DIR/ALIAS.OP.sig for openssl), or
// oaep-sha256 (Cipher RSA/ECB/OAEPWithSHA-256AndMGF1Padding through the
// token on DIR/ALIAS.oaep-sha256.ct, writing DIR/ALIAS.oaep-sha256.out).
// Prints one line, PASS, UNAVAILABLE (the provider does not offer it:
// the exception follows) or FAIL, and exits 0, 2 or 1.

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Security;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import javax.crypto.Cipher;
import javax.crypto.NoSuchPaddingException;

public class AsymJava {
    private static Provider p;

    static final class Unavailable extends Exception {
        Unavailable(Throwable cause) {
            super(cause.toString(), cause);
        }
    }

    static void require(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    // Signs with the token and verifies with the JDK's provider (jdk).
    static byte[] sign(String alg, String jdk, PSSParameterSpec pss,
                       PrivateKey key, PublicKey pub, byte[] msg)
        throws Exception {
        return sign(alg, alg, jdk, pss, key, pub, msg);
    }

    // The same, the JDK verifying with its algorithm jdkAlg.
    static byte[] sign(String alg, String jdkAlg, String jdk,
                       PSSParameterSpec pss, PrivateKey key, PublicKey pub,
                       byte[] msg) throws Exception {
        Signature s;
        try {
            s = Signature.getInstance(alg, p);
        } catch (NoSuchAlgorithmException e) {
            throw new Unavailable(e);
        }
        if (pss != null) {
            s.setParameter(pss);
        }
        s.initSign(key);
        s.update(msg);
        byte[] sig = s.sign();
        Signature v = Signature.getInstance(jdkAlg, jdk);
        if (pss != null) {
            v.setParameter(pss);
        }
        v.initVerify(pub);
        v.update(msg);
        require(v.verify(sig), alg + ": " + jdk + " rejects the signature");
        return sig;
    }

    static byte[] oaep(PrivateKey key, byte[] ct) throws Exception {
        Cipher c;
        try {
            c = Cipher.getInstance("RSA/ECB/OAEPWithSHA-256AndMGF1Padding", p);
        } catch (NoSuchAlgorithmException | NoSuchPaddingException e) {
            throw new Unavailable(e);
        }
        c.init(Cipher.DECRYPT_MODE, key);
        return c.doFinal(ct);
    }

    static void run(String op, PrivateKey key, PublicKey pub, Path dir,
                    String alias) throws Exception {
        byte[] msg = Files.readAllBytes(dir.resolve("msg"));
        byte[] out;
        switch (op) {
        case "sha256withrsa":
            out = sign("SHA256withRSA", "SunRsaSign", null, key, pub, msg);
            break;
        case "rsassa-pss":
            out = sign("RSASSA-PSS", "SunRsaSign",
                       new PSSParameterSpec("SHA-256", "MGF1",
                                            MGF1ParameterSpec.SHA256, 32, 1),
                       key, pub, msg);
            break;
        case "sha256withrsassa-pss":
            out = sign("SHA256withRSASSA-PSS", "RSASSA-PSS", "SunRsaSign",
                       new PSSParameterSpec("SHA-256", "MGF1",
                                            MGF1ParameterSpec.SHA256, 32, 1),
                       key, pub, msg);
            break;
        case "sha256withecdsa":
            out = sign("SHA256withECDSA", "SunEC", null, key, pub, msg);
            break;
        case "oaep-sha256":
            out = oaep(key, Files.readAllBytes(dir.resolve(alias + "." + op
                                                           + ".ct")));
            Files.write(dir.resolve(alias + "." + op + ".out"), out);
            return;
        default:
            throw new IllegalArgumentException("unknown operation " + op);
        }
        Files.write(dir.resolve(alias + "." + op + ".sig"), out);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: AsymJava CONFIG PIN OP ALIAS DIR");
            System.exit(2);
        }
        String op = args[2], alias = args[3];
        try {
            p = Security.getProvider("SunPKCS11").configure(args[0]);
            KeyStore ks = KeyStore.getInstance("PKCS11", p);
            ks.load(null, args[1].toCharArray());
            require(ks.isKeyEntry(alias), "no key entry " + alias
                                              + " in " + ks.size());
            PrivateKey key = (PrivateKey)ks.getKey(alias, null);
            PublicKey pub = ks.getCertificate(alias).getPublicKey();
            run(op, key, pub, Paths.get(args[4]), alias);
            System.out.println("PASS " + op + " " + alias);
        } catch (Unavailable u) {
            System.out.println("UNAVAILABLE " + op + " " + alias + ": "
                               + u.getMessage());
            System.exit(2);
        } catch (Throwable t) {
            System.out.println("FAIL " + op + " " + alias + ": " + t);
            t.printStackTrace(System.out);
            System.exit(1);
        }
    }
}
