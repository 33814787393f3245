package org.relaymta.it;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The shape of the code, checked on the compiled classes: no cycle between packages, dependencies
 * one way (config below core below server; the internals below the API they serve), and an API
 * whose signatures name only API types, so that what is internal can change.
 */
class ArchitectureTest {
    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.relaymta");

    /** The packages the modules export to everyone (module-info.java). */
    private static final Set<String> API = Set.of("org.relaymta.config", "org.relaymta.core", "org.relaymta.core.event",
            "org.relaymta.core.queue", "org.relaymta.core.mail", "org.relaymta.server.smtp", "org.relaymta.test",
            "org.relaymta.spring");

    @Test
    void noPackageDependsOnItselfThroughAnother() {
        slices().matching("org.relaymta.(**)").should().beFreeOfCycles().check(CLASSES);
    }

    @Test
    void configKnowsNothingOfTheEngineAndTheEngineNothingOfTheServer() {
        noClasses().that().resideInAPackage("org.relaymta.config..").should().dependOnClassesThat()
                .resideInAnyPackage("org.relaymta.core..", "org.relaymta.server..").check(CLASSES);
        noClasses().that().resideInAPackage("org.relaymta.core..").should().dependOnClassesThat()
                .resideInAnyPackage("org.relaymta.server..", "org.relaymta.spring..", "org.relaymta.test..").check(CLASSES);
    }

    @Test
    void theInternalsDoNotReachBackIntoTheFacade() {
        // RelayEngine and the Jakarta Mail transport sit on top; the internals use only the vocabulary packages.
        noClasses().that().resideInAPackage("org.relaymta.core.internal..").should().dependOnClassesThat()
                .resideInAnyPackage("org.relaymta.core", "org.relaymta.core.mail").check(CLASSES);
    }

    @Test
    void apiSignaturesNameNoInternalType() {
        classes().that(inApi()).and().arePublic().should(exposeNoInternalType()).check(CLASSES);
    }

    private static DescribedPredicate<JavaClass> inApi() {
        return DescribedPredicate.describe("are in an exported package", c -> API.contains(c.getPackageName()));
    }

    private static ArchCondition<JavaClass> exposeNoInternalType() {
        return new ArchCondition<>("name no internal type in a public or protected signature") {
            @Override
            public void check(JavaClass c, ConditionEvents events) {
                Stream.concat(c.getConstructors().stream(), c.getMethods().stream())
                        .filter(ArchitectureTest::visible)
                        .forEach(m -> signatureTypes(m).filter(ArchitectureTest::internal).distinct()
                                .forEach(t -> events.add(SimpleConditionEvent.violated(c, m.getFullName()
                                        + " names the internal type " + t.getName()))));
                c.getFields().stream().filter(f -> f.getModifiers().contains(JavaModifier.PUBLIC)
                                || f.getModifiers().contains(JavaModifier.PROTECTED))
                        .filter(f -> internal(f.getRawType()))
                        .forEach((JavaField f) -> events.add(SimpleConditionEvent.violated(c, f.getFullName()
                                + " is of the internal type " + f.getRawType().getName())));
            }
        };
    }

    private static Stream<JavaClass> signatureTypes(JavaCodeUnit m) {
        Stream<JavaClass> params = m.getParameterTypes().stream().flatMap(t -> t.getAllInvolvedRawTypes().stream());
        Stream<JavaClass> thrown = m.getThrowsClause().getTypes().stream();
        return Stream.of(params, m.getReturnType().getAllInvolvedRawTypes().stream(), thrown).flatMap(x -> x);
    }

    private static boolean visible(JavaCodeUnit m) {
        return m.getModifiers().contains(JavaModifier.PUBLIC) || m.getModifiers().contains(JavaModifier.PROTECTED);
    }

    private static boolean internal(JavaClass type) {
        JavaClass base = type.getBaseComponentType();
        return base.getPackageName().startsWith("org.relaymta.") && !API.contains(base.getPackageName());
    }
}
