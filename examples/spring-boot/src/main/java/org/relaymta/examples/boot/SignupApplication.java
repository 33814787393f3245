package org.relaymta.examples.boot;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.mail.SimpleMailMessage;
import org.springframework.mail.javamail.JavaMailSender;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * An ordinary Spring Boot application that sends mail with {@code spring-boot-starter-mail}'s
 * {@link JavaMailSender}. The only Relay MTA-specific parts are the starter dependency and the
 * {@code relaymta.*} properties: {@code send} returns once the mail is durable in the relay's
 * spool, and the relay delivers, retries and bounces in the background.
 */
@SpringBootApplication
public class SignupApplication {

    public static void main(String[] args) {
        SpringApplication.run(SignupApplication.class, args);
    }

    @RestController
    static class SignupController {
        private final JavaMailSender mail;

        SignupController(JavaMailSender mail) {
            this.mail = mail;
        }

        @PostMapping("/signup")
        String signup(@RequestParam String email) {
            SimpleMailMessage welcome = new SimpleMailMessage();
            welcome.setFrom("welcome@app.example");
            welcome.setTo(email);
            welcome.setSubject("Welcome aboard");
            welcome.setText("Thanks for signing up.");
            mail.send(welcome);
            return "queued";
        }
    }
}
