package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.relaymta.config.ConfigException;

class PostfixTableTest {

    @Test
    void readsEntriesCommentsContinuationsAndOptOuts() {
        PostfixTable t = PostfixTable.parse("postfix-relaymap.cf", List.of(
                "# relay map",
                "",
                "@One.Test   [smtp.a.test]:2525   ",
                "boss@one.test [smtp.b.test]:587 # not a comment",
                "@two.test",
                "  [smtp.c.test]:25",
                "@three.test"));
        assertThat(t.lookup("@one.test")).map(PostfixTable.Entry::value).contains("[smtp.a.test]:2525");
        assertThat(t.lookup("BOSS@ONE.TEST")).map(PostfixTable.Entry::value).contains("[smtp.b.test]:587 # not a comment");
        assertThat(t.lookup("@two.test")).map(PostfixTable.Entry::value).contains("[smtp.c.test]:25");
        assertThat(t.lookup("@three.test")).map(PostfixTable.Entry::value).contains("");
        assertThat(t.lookup("@three.test").get().line()).isEqualTo(7);
        assertThat(t.size()).isEqualTo(4);
    }

    @Test
    void duplicateKeysAreRejectedNamingBothLines() {
        assertThatThrownBy(() -> PostfixTable.parse("postfix-sasl-password.cf", List.of(
                "@one.test u:p", "# x", "@ONE.test v:q")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("postfix-sasl-password.cf:3: duplicate key '@ONE.test' (first defined at line 1)");
    }

    @Test
    void continuationWithoutEntryIsAnErrorWithFileAndLine() {
        assertThatThrownBy(() -> PostfixTable.parse("postfix-relaymap.cf", List.of("", "  [x.test]")))
                .hasMessageStartingWith("postfix-relaymap.cf:2:");
    }
}
