package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.ConfigException;
import org.relaymta.config.QueueSettings;

/** The parameter table: one declaration per setting, and everything that reads settings agrees with it. */
class ParamsTest {
    /** docs/parameters.md, at the top of the repository. */
    private static final Path REFERENCE = Path.of("..", "docs", "parameters.md");

    @TempDir
    Path dir;

    @Test
    void theReferencePageIsWhatTheTableSays() throws Exception {
        String generated = ParameterReference.markdown();
        if (Boolean.getBoolean("parameters.update")) {
            Files.createDirectories(REFERENCE.getParent());
            Files.writeString(REFERENCE, generated, StandardCharsets.UTF_8);
        }
        assertThat(REFERENCE).as("docs/parameters.md is generated from Params: run "
                + "'mvn -pl mta-config test -Dtest=ParamsTest -Dparameters.update=true' after changing the table").exists();
        assertThat(Files.readString(REFERENCE, StandardCharsets.UTF_8)).isEqualTo(generated);
    }

    @Test
    void namesAndVariablesAreDeclaredOnceAndEveryDefaultParses() {
        Set<String> names = new HashSet<>();
        Set<String> variables = new HashSet<>();
        for (Param<?> p : Params.all()) {
            assertThat(names.add(p.name())).as("one declaration of " + p.name()).isTrue();
            p.variable().ifPresent(v -> assertThat(variables.add(v)).as("one setting per variable " + v).isTrue());
            assertThat(p.doc()).as(p.name() + " says what it means").isNotBlank();
            if (p.defaultIsValue() && !p.defaultText().isEmpty()) {
                assertThat(p.parse(p.defaultText(), "default")).as("the default of " + p.name()).isNotNull();
            }
        }
        assertThat(Params.forVariable("MTA_REDIS_PASSWORD")).hasValueSatisfying(p -> assertThat(p.secret()).isTrue());
        assertThat(Params.forVariable("MTA_CLUSTER_NODES")).isPresent();
        assertThat(Params.forVariable("RELAY_PASSWORD")).hasValueSatisfying(p -> assertThat(p.secret()).isTrue());
        assertThat(Params.forVariable("MTA_ADMIN_TOKEN")).hasValueSatisfying(p -> assertThat(p.secret()).isTrue());
    }

    @Test
    void theApiDefaultsAreTheTables() {
        ParamValues defaults = ParamValues.given(Map.of());
        assertThat(ConfigLoader.queue(defaults)).isEqualTo(QueueSettings.postfixDefaults());
        assertThat(ListenerSettings.postfixDefaults().timeout(false)).isEqualTo(Duration.ofSeconds(300));
        assertThat(ListenerSettings.postfixDefaults().timeout(true)).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void valuesSayWhereTheyCameFromAndBadOnesNameTheirPlace() throws Exception {
        Files.write(dir.resolve("postfix-main.cf"), List.of("relayhost = [main.test]:25", "mynetworks = 10.0.0.0/8",
                "message_size_limit = lots"));
        Files.writeString(dir.resolve("pw"), "from-file\n");
        ParamValues v = ParamValues.of(MainCf.read(dir.resolve("postfix-main.cf")), new Env(Map.of(
                "DEFAULT_RELAY_HOST", "[env.test]:25", "MTA_MYNETWORKS", "192.0.2.0/24", "RELAY_PASSWORD__FILE", dir.resolve("pw").toString())));
        assertThat(v.explicit(Params.RELAYHOST)).as("main.cf wins for relayhost").hasValue("[main.test]:25");
        assertThat(v.origin(Params.RELAYHOST)).hasValueSatisfying(o -> assertThat(o.source()).isEqualTo("postfix-main.cf:1"));
        assertThat(v.explicit(Params.MYNETWORKS)).as("the variable wins for mynetworks").hasValue("192.0.2.0/24");
        assertThat(v.nameSetBy(Params.MYNETWORKS)).isEqualTo("MTA_MYNETWORKS");
        assertThat(v.origin(Params.RELAY_PASSWORD)).hasValueSatisfying(o -> assertThat(o.source()).contains("RELAY_PASSWORD__FILE"));
        assertThat(v.get(Params.QUEUE_RUN_DELAY)).isEqualTo(Duration.ofSeconds(300));
        assertThatThrownBy(() -> v.get(Params.MESSAGE_SIZE_LIMIT)).isInstanceOf(ConfigException.class)
                .hasMessage("postfix-main.cf:3: message_size_limit must be a non-negative number, not 'lots'");
    }
}
