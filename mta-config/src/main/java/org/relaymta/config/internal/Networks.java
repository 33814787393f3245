package org.relaymta.config.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import org.relaymta.config.ConfigException;

/**
 * A Postfix {@code mynetworks} list: CIDR blocks such as {@code 127.0.0.0/8}, {@code [::1]/128},
 * {@code 192.168.1.0/24} or single addresses, separated by commas and/or whitespace.
 */
public final class Networks {

    private record Block(byte[] network, int prefixLength, String asWritten) {
        boolean contains(byte[] address) {
            if (address.length != network.length) {
                return false;
            }
            int fullBytes = prefixLength / 8;
            for (int i = 0; i < fullBytes; i++) {
                if (address[i] != network[i]) {
                    return false;
                }
            }
            int remainingBits = prefixLength % 8;
            if (remainingBits == 0) {
                return true;
            }
            int mask = (0xFF << (8 - remainingBits)) & 0xFF;
            return (address[fullBytes] & mask) == (network[fullBytes] & mask);
        }
    }

    public static final String POSTFIX_DEFAULT = "127.0.0.0/8 [::1]/128";

    private final List<Block> blocks;
    private final String asWritten;

    private Networks(List<Block> blocks, String asWritten) {
        this.blocks = blocks;
        this.asWritten = asWritten;
    }

    public static Networks parse(String text, String where) {
        List<Block> blocks = new ArrayList<>();
        for (String part : text.strip().split("[,\\s]+")) {
            if (!part.isEmpty()) {
                blocks.add(parseBlock(part, where));
            }
        }
        return new Networks(List.copyOf(blocks), text.strip());
    }

    private static Block parseBlock(String text, String where) {
        String addressText = text;
        int prefix = -1;
        int slash = text.indexOf('/');
        if (slash >= 0) {
            addressText = text.substring(0, slash);
            try {
                prefix = Integer.parseInt(text.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new ConfigException(where, "invalid network '" + text + "': prefix length is not a number");
            }
        }
        if (addressText.startsWith("[") && addressText.endsWith("]")) {
            addressText = addressText.substring(1, addressText.length() - 1);
        }
        if (!addressText.matches("[0-9A-Fa-f:.]+")) {
            throw new ConfigException(where, "invalid network '" + text + "': expected an IP address or CIDR block");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(addressText).getAddress();
        } catch (UnknownHostException e) {
            throw new ConfigException(where, "invalid network '" + text + "': " + e.getMessage());
        }
        int maxPrefix = bytes.length * 8;
        if (prefix < 0) {
            prefix = maxPrefix;
        }
        if (prefix > maxPrefix) {
            throw new ConfigException(where, "invalid network '" + text + "': prefix length above " + maxPrefix);
        }
        return new Block(bytes, prefix, text);
    }

    public boolean contains(InetAddress address) {
        byte[] bytes = address.getAddress();
        for (Block block : blocks) {
            if (block.contains(bytes)) {
                return true;
            }
        }
        if (bytes.length == 16 && isIpv4Mapped(bytes)) {
            byte[] v4 = new byte[] {bytes[12], bytes[13], bytes[14], bytes[15]};
            for (Block block : blocks) {
                if (block.contains(v4)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean isIpv4Mapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return (b[10] & 0xFF) == 0xFF && (b[11] & 0xFF) == 0xFF;
    }

    @Override
    public String toString() {
        return asWritten;
    }
}
