//! Standard output of every command. Commands print through `out!` and `outln!`, or write to a [`Stdout`]; never `print!`, whose failures panic.
//!
//! A reader that stops reading (`meshspan check | head`) closes the pipe: the command then ends at
//! once, quietly, with exit status 0 (the reader got what it asked for). Any other write error
//! (a full disk, say) ends it with a message and exit status 2.

use std::fmt;
use std::io::{self, Write};

/// Buffered standard output that ends the process when a write fails (see the module doc).
pub struct Stdout(io::BufWriter<io::StdoutLock<'static>>);

impl Stdout {
    /// Locks standard output for this writer. What it holds is written when it is dropped.
    pub fn lock() -> Self {
        Self(io::BufWriter::with_capacity(64 * 1024, io::stdout().lock()))
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.0.write(buf).unwrap_or_else(|e| stop(&e)))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).unwrap_or_else(|e| stop(&e));
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().unwrap_or_else(|e| stop(&e));
        Ok(())
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        // `BufWriter`'s own drop would ignore the error of this last write.
        self.0.flush().unwrap_or_else(|e| stop(&e));
    }
}

/// Ends the process after a failed write to standard output.
fn stop(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    // Standard error may be gone too: nothing more to do then.
    let _ = writeln!(
        io::stderr(),
        "meshspan: cannot write to standard output: {e}"
    );
    std::process::exit(2);
}

/// Writes formatted text to standard output (what `out!` and `outln!` expand to).
pub fn print(args: fmt::Arguments<'_>) {
    // `Stdout`'s `write` never fails: it ends the process instead.
    let _ = Stdout::lock().write_fmt(args);
}

/// `print!` that ends the command quietly when the reader has gone (see [`crate::stdout`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdout::print(format_args!($($arg)*))
    };
}

/// `println!` that ends the command quietly when the reader has gone (see [`crate::stdout`]).
macro_rules! outln {
    () => {
        $crate::stdout::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::stdout::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}
