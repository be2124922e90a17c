// SPDX-License-Identifier: Apache-2.0
// integration: the module under Java's SunPKCS11 provider. Run by
// test_java.sh with the JDK's source launcher:
//   java CmkJava.java CONFIG PIN CMK_LABEL
// Prints one line per check (PASS/SKIP/FAIL) and exits 1 on any FAIL.

import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

public class CmkJava {
    private static Provider p;
    private static KeyStore ks;
    private static String cmkLabel;
    private static SecretKey dek;
    private static int failures;
    private static final SecureRandom RNG = new SecureRandom();

    interface Check {
        void run() throws Exception;
    }

    static final class Skip extends Exception {
        Skip(String why) {
            super(why);
        }
    }

    static void check(String name, Check c) {
        try {
            c.run();
            System.out.println("PASS " + name);
        } catch (Skip s) {
            System.out.println("SKIP " + name + ": " + s.getMessage());
        } catch (Throwable t) {
            failures++;
            System.out.println("FAIL " + name + ": " + t);
            t.printStackTrace(System.out);
        }
    }

    static void require(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static byte[] iv() {
        byte[] b = new byte[12];
        RNG.nextBytes(b);
        return b;
    }

    static byte[] gcm(int mode, Key k, byte[] iv, byte[] in) throws Exception {
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding", p);
        c.init(mode, k, new GCMParameterSpec(128, iv));
        c.updateAAD("cmk-java".getBytes("UTF-8"));
        return c.doFinal(in);
    }

    static void gcmRoundTrip(Key k) throws Exception {
        byte[] data = new byte[1000];
        RNG.nextBytes(data);
        byte[] iv = iv();
        byte[] ct = gcm(Cipher.ENCRYPT_MODE, k, iv, data);
        require(ct.length == data.length + 16, "GCM output length");
        require(Arrays.equals(gcm(Cipher.DECRYPT_MODE, k, iv, ct), data),
                "GCM round trip");
        ct[3] ^= 1;
        try {
            gcm(Cipher.DECRYPT_MODE, k, iv, ct);
            throw new AssertionError("tampered GCM ciphertext accepted");
        } catch (AEADBadTagException expected) {
            // the token reported CKR_ENCRYPTED_DATA_INVALID
        }
    }

    static void sameKey(Key a, Key b) throws Exception {
        byte[] iv = iv();
        byte[] data = "same key, same bytes".getBytes("UTF-8");
        require(Arrays.equals(gcm(Cipher.ENCRYPT_MODE, a, iv, data),
                              gcm(Cipher.ENCRYPT_MODE, b, iv, data)),
                "unwrapped key differs");
    }

    static void wrap(String alg) throws Exception {
        Cipher w;
        try {
            w = Cipher.getInstance(alg, p);
        } catch (NoSuchAlgorithmException e) {
            throw new Skip(alg + " not offered by SunPKCS11 in Java "
                           + System.getProperty("java.version"));
        }
        Key cmk = ks.getKey(cmkLabel, null);
        w.init(Cipher.WRAP_MODE, cmk);
        byte[] blob = w.wrap(dek);
        require(blob.length == 40, alg + " wrapped length " + blob.length);
        Cipher u = Cipher.getInstance(alg, p);
        u.init(Cipher.UNWRAP_MODE, cmk);
        sameKey(dek, u.unwrap(blob, "AES", Cipher.SECRET_KEY));
    }

    public static void main(String[] args) throws Exception {
        p = Security.getProvider("SunPKCS11").configure(args[0]);
        Security.addProvider(p);
        cmkLabel = args[2];
        System.out.println("Java " + System.getProperty("java.version")
                           + ", provider " + p.getName());
        check("login", () -> {
            ks = KeyStore.getInstance("PKCS11", p);
            ks.load(null, args[1].toCharArray());
        });
        if (ks == null) {
            System.exit(1);
        }
        check("cmk listed", () -> {
            List<String> a = Collections.list(ks.aliases());
            require(a.contains(cmkLabel), "aliases " + a);
            require(ks.isKeyEntry(cmkLabel), "CMK is not a key entry");
        });
        check("keygen", () -> {
            KeyGenerator kg = KeyGenerator.getInstance("AES", p);
            kg.init(256);
            dek = kg.generateKey();
            require("AES".equals(dek.getAlgorithm()), "algorithm");
        });
        check("gcm with a generated key", () -> gcmRoundTrip(dek));
        check("gcm with the CMK (KEK path)",
              () -> gcmRoundTrip(ks.getKey(cmkLabel, null)));
        check("cmk value hidden", () -> {
            require(ks.getKey(cmkLabel, null).getEncoded() == null,
                    "CMK encoding exposed");
        });
        check("wrap AES/KWP/NoPadding", () -> wrap("AES/KWP/NoPadding"));
        check("wrap AES/KW/NoPadding", () -> wrap("AES/KW/NoPadding"));
        System.exit(failures == 0 ? 0 : 1);
    }
}
